package scenario

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Rendering: model -> Kafka records. Everything here is a pure function of
// the model, so a record rendered twice is byte-identical.

func (m *model) render(it item) Record {
	switch it.kind {
	case itemCRM:
		c := m.customers[it.a]
		return renderCRM(c, &c.versions[it.b])
	case itemCRMTombstone:
		c := m.customers[it.a]
		return Record{Topic: TopicCustomers, Key: renderKey(crmTable, c.id, c.schema)}
	case itemOrder:
		o := m.orders[it.a]
		return renderOrder(o, &o.versions[it.b])
	case itemOrderTombstone:
		o := m.orders[it.a]
		return Record{Topic: TopicOrders, Key: renderKey(ordersTable, o.id, o.schema)}
	case itemEvent:
		p := m.profiles[it.a]
		e := &p.events[it.b]
		return renderEvent(p, p.devices[e.dev], e, false)
	case itemBad:
		return m.renderBad(m.bad[it.a])
	}
	panic(fmt.Sprintf("scenario: unknown item kind %d", it.kind))
}

func (m *model) renderBad(bad *badRecord) Record {
	var rec Record
	switch bad.topic {
	case TopicCustomers:
		rec = renderCRM(m.customers[bad.ent], &bad.crm)
	case TopicOrders:
		rec = renderOrder(m.orders[bad.ent], &bad.ord)
	default:
		if bad.ent < 0 {
			rec = renderEvent(nil, bad.dev, &bad.ev, false)
		} else {
			p := m.profiles[bad.ent]
			rec = renderEvent(p, p.devices[bad.ev.dev], &bad.ev, bad.kind == BadTimestamp)
		}
	}
	if bad.kind == BadInvalidJSON {
		// Cut inside the top-level object: never valid JSON.
		n := min(max(int(float64(len(rec.Value))*bad.keep), 1), len(rec.Value)-1)
		rec.Value = rec.Value[:n:n]
	}
	return rec
}

// ---- Debezium ----

// table describes one captured Postgres table.
type table struct {
	topic, prefix, db, name string
	valueSchema             []connectSchema // columns of the Value struct
	envelopeSchema          json.RawMessage // whole envelope schema, built once
}

const debeziumVersion = "3.0.8.Final"

var crmTable = newTable(TopicCustomers, "crm", "crm", "customers", []connectSchema{
	{Type: "int64", Field: "id"},
	{Type: "string", Optional: true, Field: "email"},
	{Type: "string", Optional: true, Field: "first_name"},
	{Type: "string", Optional: true, Field: "last_name"},
	{Type: "string", Optional: true, Field: "phone"},
	{Type: "string", Optional: true, Field: "country"},
	{Type: "int32", Optional: true, Name: "io.debezium.time.Date", Version: 1, Field: "birth_date"},
	{Type: "boolean", Optional: true, Field: "marketing_opt_in"},
	{Type: "int64", Optional: true, Name: "io.debezium.time.MicroTimestamp", Version: 1, Field: "updated_at"},
})

var ordersTable = newTable(TopicOrders, "shop", "shop", "orders", []connectSchema{
	{Type: "int64", Field: "id"},
	{Type: "int64", Optional: true, Field: "customer_id"},
	{Type: "string", Optional: true, Field: "status"},
	{Type: "string", Optional: true, Field: "total"}, // numeric(12,2), decimal.handling.mode=string
	{Type: "string", Optional: true, Field: "currency"},
	{Type: "int64", Optional: true, Name: "io.debezium.time.MicroTimestamp", Version: 1, Field: "created_at"},
})

// connectSchema is a Kafka Connect JSON schema as JsonConverter writes it.
type connectSchema struct {
	Type       string            `json:"type"`
	Fields     []connectSchema   `json:"fields,omitempty"`
	Optional   bool              `json:"optional"`
	Name       string            `json:"name,omitempty"`
	Version    int               `json:"version,omitempty"`
	Parameters map[string]string `json:"parameters,omitempty"`
	Default    any               `json:"default,omitempty"`
	Field      string            `json:"field,omitempty"`
}

func newTable(topic, prefix, db, name string, columns []connectSchema) *table {
	t := &table{topic: topic, prefix: prefix, db: db, name: name, valueSchema: columns}
	base := prefix + ".public." + name
	value := func(field string) connectSchema {
		return connectSchema{Type: "struct", Fields: columns, Optional: true, Name: base + ".Value", Field: field}
	}
	str := func(field string, optional bool) connectSchema {
		return connectSchema{Type: "string", Optional: optional, Field: field}
	}
	i64 := func(field string, optional bool) connectSchema {
		return connectSchema{Type: "int64", Optional: optional, Field: field}
	}
	source := connectSchema{Type: "struct", Name: "io.debezium.connector.postgresql.Source", Field: "source", Fields: []connectSchema{
		str("version", false), str("connector", false), str("name", false), i64("ts_ms", false),
		{Type: "string", Optional: true, Name: "io.debezium.data.Enum", Version: 1,
			Parameters: map[string]string{"allowed": "true,first,first_in_data_collection,last_in_data_collection,last,false,incremental"},
			Default:    "false", Field: "snapshot"},
		str("db", false), str("sequence", true), i64("ts_us", true), i64("ts_ns", true),
		str("schema", false), str("table", false), i64("txId", true), i64("lsn", true), i64("xmin", true),
	}}
	transaction := connectSchema{Type: "struct", Optional: true, Name: "event.block", Version: 1, Field: "transaction", Fields: []connectSchema{
		str("id", false), i64("total_order", false), i64("data_collection_order", false),
	}}
	env := connectSchema{Type: "struct", Name: base + ".Envelope", Version: 2, Fields: []connectSchema{
		value("before"), value("after"), source, transaction, str("op", false),
		i64("ts_ms", true), i64("ts_us", true), i64("ts_ns", true),
	}}
	t.envelopeSchema = mustJSON(env)
	return t
}

type pgSource struct {
	Version   string `json:"version"`
	Connector string `json:"connector"`
	Name      string `json:"name"`
	TsMs      int64  `json:"ts_ms"`
	Snapshot  any    `json:"snapshot"`
	DB        string `json:"db"`
	Sequence  string `json:"sequence"`
	TsUs      int64  `json:"ts_us"`
	TsNs      int64  `json:"ts_ns"`
	Schema    string `json:"schema"`
	Table     string `json:"table"`
	TxID      int64  `json:"txId"`
	LSN       int64  `json:"lsn"`
	Xmin      *int64 `json:"xmin"`
}

type envelope struct {
	Before      any      `json:"before"`
	After       any      `json:"after"`
	Source      pgSource `json:"source"`
	Transaction any      `json:"transaction"`
	Op          string   `json:"op"`
	TsMs        int64    `json:"ts_ms"`
	TsUs        int64    `json:"ts_us"`
	TsNs        int64    `json:"ts_ns"`
}

type withSchema struct {
	Schema  json.RawMessage `json:"schema"`
	Payload any             `json:"payload"`
}

type pkRow struct {
	ID int64 `json:"id"`
}

type customerRow struct {
	ID             int64   `json:"id"`
	Email          *string `json:"email"`
	FirstName      *string `json:"first_name"`
	LastName       *string `json:"last_name"`
	Phone          *string `json:"phone"`
	Country        *string `json:"country"`
	BirthDate      *int32  `json:"birth_date"`
	MarketingOptIn *bool   `json:"marketing_opt_in"`
	UpdatedAt      int64   `json:"updated_at"`
}

type orderRow struct {
	ID         int64  `json:"id"`
	CustomerID int64  `json:"customer_id"`
	Status     string `json:"status"`
	Total      string `json:"total"`
	Currency   string `json:"currency"`
	CreatedAt  int64  `json:"created_at"`
}

func renderKey(t *table, id int64, schema bool) []byte {
	if !schema {
		return mustJSON(pkRow{id})
	}
	return mustJSON(withSchema{
		Schema: mustJSON(connectSchema{Type: "struct", Name: t.prefix + ".public." + t.name + ".Key",
			Fields: []connectSchema{{Type: "int64", Field: "id"}}}),
		Payload: pkRow{id},
	})
}

// renderChange renders a Debezium record; after is the row for c/r/u.
func renderChange(t *table, id int64, schema bool, c *change, after any) Record {
	snapshot := any("false")
	if c.op == opRead {
		snapshot = "true"
	}
	if c.boolSnap {
		snapshot = c.op == opRead
	}
	env := envelope{
		Source: pgSource{
			Version: debeziumVersion, Connector: "postgresql", Name: t.prefix,
			TsMs: c.ts / 1000, Snapshot: snapshot, DB: t.db,
			Sequence: fmt.Sprintf(`["%d","%d"]`, c.prevLSN, c.lsn),
			TsUs:     c.ts, TsNs: c.ts * 1000,
			Schema: "public", Table: t.name, TxID: c.txID, LSN: c.lsn,
		},
		Op: string(rune(c.op)),
		// Envelope times are when the connector processed the change.
		TsMs: c.at / 1000, TsUs: c.at, TsNs: c.at*1000 + int64(hash64(uint64(c.lsn))%1000),
	}
	if c.op == opDelete {
		env.Before = pkRow{id} // REPLICA IDENTITY DEFAULT: the key only
	} else {
		env.After = after
	}
	rec := Record{Topic: t.topic, Key: renderKey(t, id, schema)}
	if schema {
		rec.Value = mustJSON(withSchema{Schema: t.envelopeSchema, Payload: env})
	} else {
		rec.Value = mustJSON(env)
	}
	return rec
}

func renderCRM(c *customer, v *crmVersion) Record {
	row := customerRow{
		ID: c.id, Email: v.row.email, FirstName: v.row.firstName, LastName: v.row.lastName,
		Phone: v.row.phone, Country: v.row.country, BirthDate: v.row.birthDate,
		MarketingOptIn: v.row.optIn, UpdatedAt: v.row.updatedAt,
	}
	return renderChange(crmTable, c.id, c.schema, &v.change, row)
}

func renderOrder(o *order, v *orderVersion) Record {
	row := orderRow{
		ID: o.id, CustomerID: v.customerID, Status: v.status, Total: formatCents(v.totalCents),
		Currency: v.currency, CreatedAt: v.createdAt,
	}
	return renderChange(ordersTable, o.id, o.schema, &v.change, row)
}

// formatCents renders cents as Postgres numeric(12,2) text: "-5.00", "123.45".
func formatCents(c int64) string {
	sign := ""
	if c < 0 {
		sign, c = "-", -c
	}
	return fmt.Sprintf("%s%d.%02d", sign, c/100, c%100)
}

// ---- Segment ----

type segMessage struct {
	AnonymousID       string         `json:"anonymousId,omitempty"`
	Channel           string         `json:"channel"`
	Context           map[string]any `json:"context"`
	Event             string         `json:"event,omitempty"`
	GroupID           string         `json:"groupId,omitempty"`
	Integrations      map[string]any `json:"integrations"`
	MessageID         string         `json:"messageId"`
	Name              string         `json:"name,omitempty"`
	OriginalTimestamp string         `json:"originalTimestamp"`
	PreviousID        string         `json:"previousId,omitempty"`
	Properties        map[string]any `json:"properties,omitempty"`
	ReceivedAt        string         `json:"receivedAt"`
	SentAt            string         `json:"sentAt"`
	Timestamp         string         `json:"timestamp"`
	Traits            map[string]any `json:"traits,omitempty"`
	Type              string         `json:"type"`
	UserID            string         `json:"userId,omitempty"`
}

// segmentTime formats µs as Segment does: UTC, milliseconds.
func segmentTime(us int64) string {
	return time.UnixMicro(us).UTC().Format("2006-01-02T15:04:05.000Z")
}

// renderEvent renders a Segment event of profile p (nil: an event without
// any id) from device d. badTime writes "yesterday" as its timestamps.
func renderEvent(p *clickProfile, d device, e *event, badTime bool) Record {
	h := hash64(e.msg)
	msg := segMessage{
		Type:              eventTypeNames[e.typ],
		AnonymousID:       d.anonID,
		MessageID:         messageID(d.lib, e.msg),
		OriginalTimestamp: segmentTime(e.ts + d.skewMs*1000),
		SentAt:            segmentTime(e.ts + (d.skewMs+e.sendMs)*1000),
		ReceivedAt:        segmentTime(e.ts + e.sendMs*1000),
		Timestamp:         segmentTime(e.ts),
		Integrations:      map[string]any{},
	}
	if badTime {
		msg.Timestamp, msg.OriginalTimestamp = "yesterday", "yesterday"
	}
	if p != nil {
		msg.UserID = p.userID
	}
	page := map[string]any{}
	switch d.lib {
	case libBrowser:
		msg.Channel = "browser"
		path, title := "/"+strings.ReplaceAll(strings.ToLower(e.name), " ", "-"), e.name+" | Shop"
		switch {
		case e.product != "":
			path = "/p/" + e.product
		case e.name == "" || e.name == "Home":
			path, title = "/", "Shop"
		}
		page = map[string]any{
			"path": path, "referrer": []string{"", "https://www.google.com/", "https://news.example/"}[h%3],
			"search": "", "title": title, "url": "https://shop.example" + path,
		}
		msg.Context = map[string]any{
			"library":   map[string]any{"name": "analytics.js", "version": "next-1.70.0"},
			"ip":        fmt.Sprintf("203.0.113.%d", h%250+1),
			"locale":    []string{"en-US", "de-DE", "en-GB", "fr-FR"}[(h>>8)%4],
			"page":      page,
			"userAgent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",
		}
	case libIOS:
		msg.Channel = "mobile"
		msg.Context = map[string]any{
			"app":      map[string]any{"name": "Shop", "version": "4.2.1", "build": "412"},
			"device":   map[string]any{"manufacturer": "Apple", "model": "iPhone15,2", "type": "ios"},
			"library":  map[string]any{"name": "analytics-ios", "version": "4.1.8"},
			"locale":   "en-US",
			"network":  map[string]any{"wifi": h%2 == 0},
			"os":       map[string]any{"name": "iOS", "version": "17.4"},
			"timezone": "America/New_York",
		}
	default:
		msg.Channel = "server"
		msg.Context = map[string]any{"library": map[string]any{"name": "analytics-node", "version": "2.1.0"}}
	}
	switch e.typ {
	case evPage:
		msg.Name = e.name
		msg.Properties = page
	case evScreen:
		msg.Name = e.name
		msg.Properties = map[string]any{"name": e.name}
	case evTrack:
		msg.Event = e.name
		msg.Properties = trackProperties(e, h)
	case evIdentify:
		msg.Traits = map[string]any{}
		first, last := "first_name", "last_name"
		if e.traits.camel {
			first, last = "firstName", "lastName"
		}
		if e.traits.email != nil {
			msg.Traits["email"] = *e.traits.email
		}
		if e.traits.first != nil {
			msg.Traits[first] = *e.traits.first
		}
		if e.traits.last != nil {
			msg.Traits[last] = *e.traits.last
		}
	case evGroup:
		msg.GroupID = fmt.Sprintf("grp-%03d", h%40)
		msg.Traits = map[string]any{
			"name":      []string{"Acme Corp", "Globex", "Initech", "Umbrella"}[h%4],
			"industry":  []string{"Retail", "Logistics", "Software"}[(h>>4)%3],
			"employees": 10 + (h>>8)%990,
		}
	case evAlias:
		msg.PreviousID = d.anonID
		if msg.PreviousID == "" {
			msg.PreviousID = "legacy-" + msg.UserID
		}
	}
	key := msg.UserID
	if key == "" {
		key = msg.AnonymousID
	}
	if key == "" {
		key = msg.MessageID
	}
	return Record{Topic: TopicClickstream, Key: []byte(key), Value: mustJSON(msg)}
}

// messageID formats an event's messageId the way its library would.
func messageID(lib int, seed uint64) string {
	switch lib {
	case libBrowser:
		return "ajs-next-" + uuid(seed)
	case libIOS:
		return strings.ToUpper(uuid(seed))
	default:
		return "node-" + uuid(seed)
	}
}

func trackProperties(e *event, h uint64) map[string]any {
	price := float64(500+hash64(uint64(len(e.product))+h)%20000) / 100
	switch e.name {
	case "Product Viewed":
		return map[string]any{
			"product_id": e.product, "sku": "SKU-" + strings.TrimPrefix(e.product, "prod-"),
			"name": "Product " + e.product, "category": []string{"Shoes", "Books", "Games", "Garden"}[h%4],
			"price": price, "currency": "USD",
		}
	case "Product Added":
		return map[string]any{
			"cart_id": fmt.Sprintf("cart-%x", h>>40), "product_id": e.product,
			"sku": "SKU-" + strings.TrimPrefix(e.product, "prod-"), "price": price, "quantity": 1 + h%3,
		}
	case "Products Searched":
		return map[string]any{"query": []string{"red shoes", "garden hose", "chess", "novel"}[h%4]}
	case "Signed In":
		return map[string]any{"method": "password"}
	default:
		return map[string]any{"cart_id": fmt.Sprintf("cart-%x", h>>40)}
	}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("scenario: " + err.Error())
	}
	return b
}
