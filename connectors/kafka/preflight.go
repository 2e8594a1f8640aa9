package kafka

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"
	"github.com/twmb/franz-go/pkg/sasl"

	"github.com/profiled/profiled/schemas/dictionary"
)

// DefaultPreflightTimeout bounds Preflight when ctx has no deadline. A
// healthy cluster answers in milliseconds; the bound is for a broker that
// accepts TCP but never completes a handshake.
const DefaultPreflightTimeout = 15 * time.Second

// HandshakeTimeout bounds one connection attempt of the preflight (TCP
// connect plus TLS handshake) when the client's TLS comes from
// DialTLSConfig, as ClientOpts sets it up.
const HandshakeTimeout = 5 * time.Second

// TopicAccess is what a client does with a topic, for PreflightAccess.
// DESCRIBE is always checked; Read and Write add READ and WRITE.
type TopicAccess struct {
	Topic       string
	Read, Write bool
}

// Preflight checks, before the pipeline joins its group, that the brokers
// can be reached, the TLS handshake and SASL authentication succeed, the
// principal may DESCRIBE every topic in topics, and may DESCRIBE and READ
// the consumer group (when group is not empty). It returns nil or a
// *ConnectError whose Kind and Detail say exactly what is wrong.
//
// Topics that do not exist yet are not an error: creating them is the
// caller's next step, and it reports a CREATE denial itself.
//
// See PreflightAccess for how the check runs.
func Preflight(ctx context.Context, cl *kgo.Client, k dictionary.Kafka, group string, topics []string) error {
	access := make([]TopicAccess, len(topics))
	for i, t := range topics {
		access[i] = TopicAccess{Topic: t}
	}
	return PreflightAccess(ctx, cl, k, group, access)
}

// PreflightAccess is Preflight that also checks READ and WRITE where the
// topics say so, from the authorized operations the broker reports (Kafka
// 2.3 and later; an older broker that omits them gets the DESCRIBE check
// only).
//
// The check does not use cl itself: it builds a short-lived client from
// cl's connection settings (seed brokers, client id, dialer or TLS config,
// SASL mechanisms, version pins). That keeps it apart from cl's own
// background activity (a group client starts joining when it is created)
// and from cl's retry budget, and lets hooks see in which phase of a
// connection (TCP, TLS, ApiVersions, SASL) a failure happened, which the
// returned error alone does not always say: a broker that rejects a
// password by closing the connection yields a bare EOF. A failure that no
// retry can fix (credentials, certificates) ends the check at once; others
// (refused, timeouts) are retried on the other seeds until ctx ends, or
// DefaultPreflightTimeout if ctx has no deadline. cl may be nil: the
// settings then come from ClientOpts(k) and k.Brokers.
//
// k is used to word the messages (the CA file, the user and mechanism).
func PreflightAccess(ctx context.Context, cl *kgo.Client, k dictionary.Kafka, group string, topics []TopicAccess) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultPreflightTimeout)
		defer cancel()
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	opts, seeds, mech, hasTLS, err := probeOpts(cl, k)
	if err != nil {
		return err
	}
	pr := &probe{k: k, mech: mech, hasTLS: hasTLS, lastRead: map[string]int16{}, cancel: cancel}
	deadline, _ := ctx.Deadline()
	budget := time.Until(deadline)
	if budget <= 0 {
		return &ConnectError{Kind: KindNetwork, Detail: "no time left for the preflight check", Err: context.DeadlineExceeded}
	}
	opts = append(opts,
		kgo.WithHooks(pr),
		// Bounded by ctx; the backoff is short because a preflight
		// wants the answer, not to wait out a broker restart.
		kgo.RetryTimeout(budget),
		kgo.RetryBackoffFn(func(tries int) time.Duration {
			return min(time.Duration(tries)*100*time.Millisecond, time.Second)
		}),
		// With DialTLSConfig this bounds TCP connect and TLS handshake
		// together. A TLS client on a plaintext listener that does not
		// hang up (the listener waits for a "request" the size of the
		// ClientHello's first bytes) is only recognised by its silence;
		// a healthy broker completes a handshake in milliseconds.
		kgo.DialTimeout(min(HandshakeTimeout, budget/2)),
	)
	pc, err := kgo.NewClient(opts...)
	if err != nil {
		return configError(err, "building the preflight client")
	}
	defer pc.Close()

	// ACL problems are collected rather than returned one by one, so that
	// one run tells the operator every grant that is missing.
	denied, err := checkTopics(ctx, pc, topics)
	if err != nil {
		return pr.explain(err, seeds)
	}
	var cause error
	if len(denied) > 0 {
		cause = kerr.TopicAuthorizationFailed
	}
	if group != "" {
		d, err := checkGroup(ctx, pc, group)
		if err != nil {
			return pr.explain(err, seeds)
		}
		if len(d) > 0 {
			denied = append(denied, d...)
			if cause == nil {
				cause = kerr.GroupAuthorizationFailed
			} else {
				cause = fmt.Errorf("%w; %w", cause, kerr.GroupAuthorizationFailed)
			}
		}
	}
	if len(denied) > 0 {
		return &ConnectError{Kind: KindACL, Detail: pr.principal() + " " + strings.Join(denied, "; "), Err: cause}
	}
	return nil
}

// probeOpts copies cl's connection settings, or builds them from k.
func probeOpts(cl *kgo.Client, k dictionary.Kafka) (opts []kgo.Opt, seeds []string, mech string, hasTLS bool, err error) {
	if cl == nil {
		if len(k.Brokers) == 0 {
			return nil, nil, "", false, configError(nil, "kafka.brokers: no seed brokers to check")
		}
		opts, err := ClientOpts(k)
		if err != nil {
			return nil, nil, "", false, err
		}
		m, _ := describeMechanism(k.SASL)
		return append(opts, kgo.SeedBrokers(k.Brokers...)), k.Brokers, m, k.TLS != nil, nil
	}
	seeds, _ = cl.OptValue(kgo.SeedBrokers).([]string)
	opts = append(opts, kgo.SeedBrokers(seeds...))
	if v := cl.OptValues(kgo.ClientID); len(v) == 2 && v[1] == true {
		if id, ok := v[0].(string); ok {
			opts = append(opts, kgo.ClientID(id))
		}
	}
	if v := cl.OptValues(kgo.SoftwareNameAndVersion); len(v) == 2 {
		name, _ := v[0].(string)
		ver, _ := v[1].(string)
		opts = append(opts, kgo.SoftwareNameAndVersion(name, ver))
	}
	// kgo turns a DialTLSConfig into a dialer at NewClient, so Dialer
	// always has a value; copying the TLS config instead keeps kgo's
	// per-broker ServerName.
	if tc, _ := cl.OptValue(kgo.DialTLSConfig).(*tls.Config); tc != nil {
		opts = append(opts, kgo.DialTLSConfig(tc))
		hasTLS = true
	} else if fn, _ := cl.OptValue(kgo.Dialer).(func(context.Context, string, string) (net.Conn, error)); fn != nil {
		opts = append(opts, kgo.Dialer(fn))
	}
	if mechs, _ := cl.OptValue(kgo.SASL).([]sasl.Mechanism); len(mechs) > 0 {
		opts = append(opts, kgo.SASL(mechs...))
		mech = mechs[0].Name()
	}
	if v, _ := cl.OptValue(kgo.MaxVersions).(*kversion.Versions); v != nil {
		opts = append(opts, kgo.MaxVersions(v))
	}
	if v, _ := cl.OptValue(kgo.MinVersions).(*kversion.Versions); v != nil {
		opts = append(opts, kgo.MinVersions(v))
	}
	return opts, seeds, mech, hasTLS, nil
}

// checkTopics asks for the topics' metadata with their authorized
// operations. The request is built by hand rather than with kadm.Metadata,
// which stops at the first denied topic without saying which one.
func checkTopics(ctx context.Context, cl *kgo.Client, topics []TopicAccess) ([]string, error) {
	req := kmsg.NewPtrMetadataRequest()
	req.Topics = []kmsg.MetadataRequestTopic{} // empty, not nil: nil means all topics
	req.IncludeTopicAuthorizedOperations = true
	for _, t := range topics {
		rt := kmsg.NewMetadataRequestTopic()
		rt.Topic = kmsg.StringPtr(t.Topic)
		req.Topics = append(req.Topics, rt)
	}
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return nil, err
	}
	byName := make(map[string]kmsg.MetadataResponseTopic, len(resp.Topics))
	for _, t := range resp.Topics {
		if t.Topic != nil {
			byName[*t.Topic] = t
		}
	}
	var denied []string
	for _, want := range topics {
		t, ok := byName[want.Topic]
		if !ok {
			continue
		}
		switch err := kerr.ErrorForCode(t.ErrorCode); {
		case errors.Is(err, kerr.TopicAuthorizationFailed):
			denied = append(denied, fmt.Sprintf("is not authorized to describe topic %q: grant DESCRIBE on it, or %s, which imply DESCRIBE",
				want.Topic, grantFor(want)))
			continue
		case errors.Is(err, kerr.UnknownTopicOrPartition):
			continue // not created yet; see Preflight
		case errors.Is(err, kerr.InvalidTopicException):
			return nil, configError(err, "topic name %q is not valid", want.Topic)
		}
		ops := t.AuthorizedOperations
		if ops == math.MinInt32 || ops == 0 {
			continue // the broker did not say (before Kafka 2.3)
		}
		var missing []string
		if want.Read && ops&(1<<int32(kmsg.ACLOperationRead)) == 0 {
			missing = append(missing, "READ")
		}
		if want.Write && ops&(1<<int32(kmsg.ACLOperationWrite)) == 0 {
			missing = append(missing, "WRITE")
		}
		if len(missing) > 0 {
			denied = append(denied, fmt.Sprintf("is not authorized to %s topic %q: grant %s on it",
				strings.ToLower(strings.Join(missing, " and ")), want.Topic, strings.Join(missing, " and ")))
		}
	}
	return denied, nil
}

func grantFor(t TopicAccess) string {
	switch {
	case t.Read && t.Write:
		return "READ and WRITE (both needed here)"
	case t.Read:
		return "READ (needed here)"
	case t.Write:
		return "WRITE (needed here)"
	}
	return "READ/WRITE"
}

// checkGroup describes the consumer group. Finding its coordinator already
// needs DESCRIBE on the group; joining and committing need READ, which the
// authorized operations tell.
func checkGroup(ctx context.Context, cl *kgo.Client, group string) ([]string, error) {
	described, err := kadm.NewClient(cl).DescribeGroups(ctx, group)
	if errors.Is(err, kerr.GroupAuthorizationFailed) {
		return []string{fmt.Sprintf("is not authorized to use consumer group %q: grant READ on group %q", group, group)}, nil
	}
	if err != nil {
		return nil, err
	}
	g, ok := described[group]
	if !ok {
		return nil, nil
	}
	if g.Err != nil && !errors.Is(g.Err, kerr.GroupIDNotFound) {
		return nil, fmt.Errorf("describing consumer group %q: %w", group, g.Err)
	}
	if len(g.AuthorizedOperations) > 0 && !slices.Contains(g.AuthorizedOperations, kmsg.ACLOperationRead) {
		return []string{fmt.Sprintf("is not authorized to read consumer group %q (it may only describe it): grant READ on group %q", group, group)}, nil
	}
	return nil, nil
}

// probe is a kgo hook that remembers how connections failed.
type probe struct {
	k      dictionary.Kafka
	mech   string
	hasTLS bool
	cancel context.CancelFunc

	mu       sync.Mutex
	lastRead map[string]int16 // broker address -> key of its last failed read
	failure  *ConnectError    // the most telling connection failure so far
	final    bool             // failure is one no retry fixes
}

var (
	_ kgo.HookBrokerRead    = (*probe)(nil)
	_ kgo.HookBrokerConnect = (*probe)(nil)
)

const noKey = -1

func (p *probe) OnBrokerRead(meta kgo.BrokerMetadata, key int16, _ int, _, _ time.Duration, err error) {
	if err == nil {
		return
	}
	p.mu.Lock()
	p.lastRead[addrOf(meta)] = key
	p.mu.Unlock()
}

// OnBrokerConnect sees every failed connection attempt with the error of
// its dial or initialisation (ApiVersions, SASL).
func (p *probe) OnBrokerConnect(meta kgo.BrokerMetadata, _ time.Duration, _ net.Conn, err error) {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, kgo.ErrClientClosed) {
		return
	}
	addr := addrOf(meta)
	p.mu.Lock()
	key, ok := p.lastRead[addr]
	delete(p.lastRead, addr)
	if !ok {
		key = noKey
	}
	ce, final := p.classify(err, addr, key)
	// Keep the first failure that no retry will fix; before one is seen,
	// the latest transient one.
	if !p.final {
		p.failure, p.final = ce, final
	}
	p.mu.Unlock()
	if final {
		p.cancel()
	}
}

func addrOf(meta kgo.BrokerMetadata) string {
	return net.JoinHostPort(meta.Host, fmt.Sprint(meta.Port))
}

// explain turns a failed request into a ConnectError, preferring what the
// hooks saw of the failed connections over the request's own error, which
// after a cancellation is only "context canceled".
func (p *probe) explain(err error, seeds []string) error {
	if ce, ok := errors.AsType[*ConnectError](err); ok {
		return ce
	}
	where := strings.Join(seeds, ", ")
	if _, ok := errors.AsType[*kerr.Error](err); ok {
		// A broker answered: the connection works, whatever the hooks
		// saw of other attempts.
		if ce, final := p.classify(err, where, noKey); final {
			return ce
		}
		return &ConnectError{Kind: KindNetwork, Err: err, Detail: fmt.Sprintf("brokers %s answered the preflight with an error", where)}
	}
	p.mu.Lock()
	failure := p.failure
	// A failure after the connection was set up (the first request after
	// ApiVersions, cut off by a broker that wants SASL) reaches no
	// OnBrokerConnect; the failed read is all there is.
	key := int16(noKey)
	for _, k := range p.lastRead {
		key = k
	}
	p.mu.Unlock()
	if failure != nil {
		return failure
	}
	if errors.Is(err, context.DeadlineExceeded) {
		kind := KindNetwork
		if p.hasTLS || p.mech != "" {
			kind = KindTLS
		}
		return &ConnectError{Kind: kind, Err: err, Detail: fmt.Sprintf(
			"no answer from brokers %s before the preflight deadline: no TLS/SASL handshake possible; is the listener TLS? is the port right?", where)}
	}
	ce, _ := p.classify(err, where, key)
	return ce
}

// classify maps a connection error to what the operator has to fix. key is
// the request whose response could not be read (noKey: the failure was in
// the dial, TLS handshake included). It reports whether retrying is
// pointless.
func (p *probe) classify(err error, addr string, key int16) (*ConnectError, bool) {
	mech, user := p.mech, username(p.k.SASL)
	if ce, ok := errors.AsType[*ConnectError](err); ok {
		return ce, true // a credential that could not be read (options.go)
	}
	var (
		unknownCA   x509.UnknownAuthorityError
		invalidCert x509.CertificateInvalidError
		hostname    x509.HostnameError
		header      tls.RecordHeaderError
	)
	trust := p.k.TLS.TrustSource()
	switch {
	case errors.Is(err, kerr.SaslAuthenticationFailed):
		return &ConnectError{Kind: KindAuth, Err: err, Detail: fmt.Sprintf(
			"authentication failed for user %s with %s: wrong username or password", user, mech)}, true
	case errors.Is(err, kerr.UnsupportedSaslMechanism):
		return &ConnectError{Kind: KindAuth, Err: err, Detail: fmt.Sprintf(
			"broker %s does not enable SASL mechanism %s: use one its listener enables (sasl.enabled.mechanisms), or the port of the listener that does", addr, mech)}, true
	case errors.Is(err, kerr.IllegalSaslState):
		return &ConnectError{Kind: KindAuth, Err: err, Detail: fmt.Sprintf(
			"broker %s rejected the SASL %s exchange: is this port a SASL listener?", addr, mech)}, true
	case errors.As(err, &unknownCA):
		return &ConnectError{Kind: KindTLS, Err: err, Detail: fmt.Sprintf(
			"the certificate of broker %s is not trusted by %s: set kafka.tls.ca_file to the CA that signed it", addr, trust)}, true
	case errors.As(err, &invalidCert):
		return &ConnectError{Kind: KindTLS, Err: err, Detail: fmt.Sprintf(
			"the certificate of broker %s is not trusted by %s: it is expired, not yet valid or not a server certificate", addr, trust)}, true
	case errors.As(err, &hostname):
		return &ConnectError{Kind: KindTLS, Err: err, Detail: fmt.Sprintf(
			"the certificate of broker %s is not trusted by %s for that name: it is issued for other names; connect by one of them, or set kafka.tls.server_name", addr, trust)}, true
	case isRemoteTLSAlert(err):
		return &ConnectError{Kind: KindTLS, Err: err, Detail: fmt.Sprintf(
			"broker %s rejected the TLS handshake: does it require a client certificate (kafka.tls.cert_file and key_file), or not trust the one given?", addr)}, true
	case errors.As(err, &header):
		return &ConnectError{Kind: KindTLS, Err: err, Detail: fmt.Sprintf(
			"no TLS handshake possible with broker %s: it answered in plaintext; is the listener TLS? is the port right?", addr)}, true
	case isClosed(err):
		return p.classifyClosed(err, addr, key)
	case errors.Is(err, syscall.ECONNREFUSED):
		return &ConnectError{Kind: KindNetwork, Err: err, Detail: fmt.Sprintf(
			"connection refused by broker %s: is it running, and is %s the right host and port?", addr, addr)}, false
	}
	if dnsErr, ok := errors.AsType[*net.DNSError](err); ok {
		return &ConnectError{Kind: KindNetwork, Err: err, Detail: fmt.Sprintf(
			"cannot resolve the host of broker %s (%s)", addr, dnsErr.Name)}, false
	}
	if isTimeout(err) {
		if op, ok := errors.AsType[*net.OpError](err); ok && op.Op == "dial" {
			return &ConnectError{Kind: KindNetwork, Err: err, Detail: fmt.Sprintf(
				"broker %s did not accept a TCP connection in time: is the address right? is a firewall in the way?", addr)}, false
		}
		// Connected, then silence: a TLS client on a plaintext listener
		// (kfake waits for the rest of a "request"), or a broker too
		// overloaded to be usable. Neither improves within a preflight.
		return &ConnectError{Kind: KindTLS, Err: err, Detail: fmt.Sprintf(
			"broker %s accepted the connection but did not answer in time: no TLS/SASL handshake possible; is the listener TLS? is the port right?", addr)}, true
	}
	return &ConnectError{Kind: KindNetwork, Err: err, Detail: fmt.Sprintf("cannot talk to broker %s", addr)}, false
}

// classifyClosed explains a broker that closed the connection: what it
// means depends on when.
func (p *probe) classifyClosed(err error, addr string, key int16) (*ConnectError, bool) {
	mech, user := p.mech, username(p.k.SASL)
	switch {
	case key == int16(kmsg.SASLHandshake):
		// Nothing secret was sent yet: the listener refused SASL itself.
		return &ConnectError{Kind: KindAuth, Err: err, Detail: fmt.Sprintf(
			"broker %s closed the connection at the SASL handshake for %s: is the listener SASL-enabled? is the port right?", addr, mech)}, true
	case key == int16(kmsg.SASLAuthenticate):
		// Brokers since Kafka 1.0 answer a bad password with
		// SASL_AUTHENTICATION_FAILED; some (kfake, proxies) just close.
		return &ConnectError{Kind: KindAuth, Err: err, Detail: fmt.Sprintf(
			"authentication failed for user %s with %s: wrong username or password (broker %s closed the connection during SASL authentication)", user, mech, addr)}, true
	case key == noKey && p.hasTLS:
		return &ConnectError{Kind: KindTLS, Err: err, Detail: fmt.Sprintf(
			"no TLS handshake possible with broker %s: it closed the connection during the handshake; is the listener TLS? is the port right?", addr)}, true
	case key == int16(kmsg.ApiVersions) && !p.hasTLS:
		return &ConnectError{Kind: KindTLS, Err: err, Detail: fmt.Sprintf(
			"no handshake possible with broker %s: it closed the connection at the first request, as a TLS listener does to a plaintext client; is the listener TLS (set kafka.tls)? is the port right?", addr)}, true
	case key != noKey && key != int16(kmsg.ApiVersions) && mech == "":
		return &ConnectError{Kind: KindAuth, Err: err, Detail: fmt.Sprintf(
			"broker %s closed the connection at the first request after the version handshake: its listener probably requires SASL, and kafka.sasl is not set", addr)}, true
	}
	return &ConnectError{Kind: KindNetwork, Err: err, Detail: fmt.Sprintf(
		"broker %s closed the connection: no TLS/SASL handshake possible; is the listener TLS? is the port right?", addr)}, false
}

func isClosed(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, net.ErrClosed)
}

func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, syscall.ETIMEDOUT) {
		return true
	}
	ne, ok := errors.AsType[net.Error](err)
	return ok && ne.Timeout()
}

// isRemoteTLSAlert reports an alert the broker sent during or right after
// the handshake (TLS 1.3 sends "certificate required" after the client's
// handshake has completed, so it surfaces on the first read). crypto/tls
// reports these as a net.OpError with Op "remote error".
func isRemoteTLSAlert(err error) bool {
	op, ok := errors.AsType[*net.OpError](err)
	return ok && op.Op == "remote error"
}

func username(s *dictionary.SASL) string {
	if s == nil {
		return ""
	}
	return s.Username
}

// principal names who is being authorized, for ACL messages.
func (p *probe) principal() string {
	if u := username(p.k.SASL); u != "" {
		return "principal User:" + u
	}
	if p.k.TLS != nil && p.k.TLS.CertFile != "" {
		return "the principal of client certificate " + p.k.TLS.CertFile
	}
	return "the principal (User:ANONYMOUS unless the broker maps it)"
}
