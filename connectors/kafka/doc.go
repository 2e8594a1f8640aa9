// Package kafka is the connection layer to Kafka: it turns the kafka:
// section of the configuration into franz-go client options (TLS, SASL,
// client id) and checks, before the pipeline joins its group, that those
// settings actually work against the brokers.
//
// # Settings
//
//	kafka:
//	  brokers: [b-1.example:9096, b-2.example:9096]   # --brokers overrides
//	  client_id: profiled                               # default profiled
//	  tls:                          # absent: plaintext
//	    ca_file: /etc/kafka/ca.pem  # absent: the system roots
//	    cert_file: /etc/kafka/client.pem   # mTLS: both or neither
//	    key_file: /etc/kafka/client-key.pem
//	    server_name: kafka.internal # absent: each broker's own host name
//	    insecure_skip_verify: false # local testing only
//	  sasl:                         # absent: no authentication
//	    mechanism: SCRAM-SHA-512
//	    username: profiled
//	    password: {env: KAFKA_PASSWORD}   # or {file: /run/secrets/kafka}
//
// ClientOpts returns the options; it leaves out the seed brokers, which the
// caller takes from --brokers or kafka.brokers. TLS is 1.2 at least. The
// client certificate and key are re-read at each TLS handshake, so a
// renewed pair (cert-manager, Vault) is used by the next connection without
// a restart; if the pair on disk does not load (a renewal half written), the
// last good one is presented.
//
// # Mechanisms and when secrets are read
//
// A secret (dictionary.Secret) is an environment variable or a file; it
// never prints its value, and this package never puts one into an error or
// a struct field. Every mechanism is built on a callback that reads the
// secret when a connection authenticates; franz-go's ready-made Auth
// structs are not used because they hold the password in a printable field.
//
//   - PLAIN, SCRAM-SHA-256, SCRAM-SHA-512: username and password. The
//     password is also read once by ClientOpts, only to fail at start-up
//     when the variable or file is missing; a rotated password file is used
//     by the next connection. PLAIN sends the password as is: use it over
//     TLS only.
//   - OAUTHBEARER: token. The token is read at every authentication and
//     never cached, so a sidecar that refreshes the token file keeps the
//     pipeline authenticated: new connections use the new token, and when
//     the broker limits session lifetime (connections.max.reauth.ms,
//     KIP-368) franz-go re-authenticates existing connections through the
//     same callback before the session expires. ClientOpts only checks that
//     a token is configured: the file may appear after start-up. A token
//     that cannot be read fails the authentication with an error naming the
//     file or variable.
//   - AWS_MSK_IAM: static credentials. With kafka.sasl.aws, the access key
//     id, secret access key and optional session token are secrets read at
//     every authentication (files: rotation works). Without it, the standard
//     variables AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and, for temporary
//     credentials, AWS_SESSION_TOKEN, read at every authentication too
//     (but a running process does not see its environment change). The
//     signing region comes from the broker's host name, so the brokers must
//     be given by their MSK names. The user agent is the client id, for
//     aws:UserAgent conditions. The AWS credential chain (instance
//     profiles, IRSA web identity) is not used: it would need the AWS SDK.
//
// # Preflight
//
// Preflight (and PreflightAccess, which also checks READ and WRITE per
// topic) runs a metadata request and a DescribeGroups for the consumer
// group with the client's connection settings, and returns a *ConnectError
// whose Kind is one of:
//
//	auth     wrong username or password; mechanism not enabled on the
//	         listener; a listener that requires SASL when none is set
//	tls      certificate not trusted (wrong CA file, system roots, host
//	         name); client certificate missing or rejected; TLS spoken to a
//	         plaintext listener or the other way round
//	network  connection refused, host not resolvable, no TCP connection
//	acl      a topic the principal may not describe (or read or write, for
//	         PreflightAccess); a group it may not describe or read
//	config   a credential that cannot be read, an invalid topic name
//
// ClientOpts returns *ConnectError of Kind config for the settings that can
// be checked without a broker. Errors that no retry fixes (credentials,
// certificates) end the check at once; the whole check is bounded by ctx, or
// DefaultPreflightTimeout. Topics that do not exist yet pass: creating them
// is the next step, which reports a CREATE denial itself.
//
// # ACLs the pipeline needs
//
// For a principal P (User:<username> with SASL; with mTLS only, the
// certificate's distinguished name as the broker maps it) and the pipeline
// group G (pipeline.group, default profiled):
//
//	resource                          operations            why
//	topic <each input topic>          READ, DESCRIBE        stage 1 consumes
//	topic G.repartition               READ, WRITE, DESCRIBE stage 1 writes, stage 2 reads
//	topic profiles (pipeline.profiles_topic)  WRITE, DESCRIBE  stage 2 publishes
//	topic profiled.dlq (pipeline.dlq_topic)   WRITE, DESCRIBE  rejected records
//	cluster, or those topics          CREATE                only while they do not exist yet
//	group G                           READ                  join, fetch offsets, commit
//	transactional id prefix G-        WRITE, DESCRIBE       later, for exactly-once
//
// READ, WRITE, DELETE and ALTER each imply DESCRIBE (KIP-253), so granting
// READ or WRITE is enough for DESCRIBE. The idempotent producer needs
// IDEMPOTENT_WRITE on the cluster on brokers before Kafka 2.8; from 2.8
// (KIP-679) WRITE on any topic implies it. Topics given by topic_pattern
// need READ on every topic the pattern matches (a PREFIXED ACL where the
// pattern is a prefix). With the Kafka CLI, for example:
//
//	kafka-acls.sh --bootstrap-server $B --command-config admin.properties --add \
//	  --allow-principal User:profiled --operation Read --topic orders --topic customers
//	kafka-acls.sh ... --add --allow-principal User:profiled \
//	  --operation Read --operation Write --topic profiled.repartition
//	kafka-acls.sh ... --add --allow-principal User:profiled --operation Write \
//	  --topic profiles --topic profiled.dlq
//	kafka-acls.sh ... --add --allow-principal User:profiled --operation Read --group profiled
//	kafka-acls.sh ... --add --allow-principal User:profiled --operation Create --cluster
//	kafka-acls.sh ... --add --allow-principal User:profiled --operation Write \
//	  --operation Describe --transactional-id profiled- --resource-pattern-type prefixed
package kafka
