package scenario

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Raw values as people type them, and the messy variants the normalizers
// must undo.

// name is a display name with the ASCII form used in email addresses.
type name struct{ display, ascii string }

var firstNames = []name{
	{"Alice", "alice"}, {"Bob", "bob"}, {"Carol", "carol"}, {"David", "david"}, {"Emma", "emma"},
	{"Frank", "frank"}, {"Grace", "grace"}, {"Hiro", "hiro"}, {"Ines", "ines"}, {"Jamal", "jamal"},
	{"Karin", "karin"}, {"Liam", "liam"}, {"Mary Ann", "maryann"}, {"Noah", "noah"}, {"Olivia", "olivia"},
	{"Priya", "priya"}, {"Quentin", "quentin"}, {"Rosa", "rosa"}, {"Sven", "sven"}, {"Tanya", "tanya"},
	{"José", "jose"}, {"Zoë", "zoe"}, {"Jean Luc", "jeanluc"}, {"Amélie", "amelie"}, {"Wei", "wei"},
}

var lastNames = []name{
	{"Smith", "smith"}, {"Johnson", "johnson"}, {"Nguyen", "nguyen"}, {"Müller", "mueller"},
	{"O'Brien", "obrien"}, {"García", "garcia"}, {"van der Berg", "vanderberg"}, {"Kowalski", "kowalski"},
	{"Tanaka", "tanaka"}, {"Rossi", "rossi"}, {"Dubois", "dubois"}, {"Okafor", "okafor"},
	{"Da Silva", "dasilva"}, {"Ivanova", "ivanova"}, {"Andersson", "andersson"}, {"Cohen", "cohen"},
	{"Patel", "patel"}, {"Kim", "kim"}, {"Schmidt", "schmidt"}, {"Lefèvre", "lefevre"},
}

var emailDomains = []string{"example.com", "example.org", "example.net", "mail.example.com", "shop.example"}

// countries, weighted toward US by repetition.
var countries = []string{"US", "US", "US", "US", "US", "CA", "GB", "DE", "FR", "NL", "ES", "IT", "AU", "JP", "BR", "MX"}

// areaCodes are US area codes that libphonenumber accepts.
var areaCodes = []string{"212", "312", "415", "617", "646", "650", "718", "206"}

var currencies = []string{"USD", "USD", "USD", "EUR", "GBP"}

var products = func() []string {
	p := make([]string, 120)
	for i := range p {
		p[i] = fmt.Sprintf("prod-%04d", 1001+i*7)
	}
	return p
}()

var pageNames = []string{"Home", "Search", "Category", "Product", "Cart", "Checkout", "Account", "Help"}

var otherTrackEvents = []string{"Product Added", "Product Added", "Cart Viewed", "Checkout Started", "Signed In", "Products Searched"}

func ptr[T any](v T) *T { return &v }

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

// person is a customer's identity before any mess is applied.
type person struct {
	first, last name
	emailLocal  string
	emailDomain string
	phone       string // 10 digits
	country     string // ISO 3166 alpha-2, upper case
}

func newPerson(r *rand.Rand, id int64) person {
	p := person{
		first:   firstNames[r.IntN(len(firstNames))],
		last:    lastNames[r.IntN(len(lastNames))],
		phone:   newPhone(r),
		country: countries[r.IntN(len(countries))],
	}
	p.emailLocal, p.emailDomain = newEmail(r, p.first, p.last, id)
	return p
}

// newEmail returns a fresh lower-case address; id keeps it unique.
func newEmail(r *rand.Rand, first, last name, id int64) (local, domain string) {
	switch r.IntN(4) {
	case 0:
		local = first.ascii + "." + last.ascii
	case 1:
		local = first.ascii[:1] + last.ascii
	case 2:
		local = first.ascii + "_" + last.ascii
	default:
		local = first.ascii + "+shop"
	}
	return local + itoa(id), emailDomains[r.IntN(len(emailDomains))]
}

// newPhone returns 10 digits of a valid US number: an area code from
// areaCodes and an exchange 200-999 that is not 555 nor N11.
func newPhone(r *rand.Rand) string {
	var ex int
	for {
		ex = 200 + r.IntN(800)
		if ex != 555 && ex%100 != 11 {
			break
		}
	}
	return fmt.Sprintf("%s%03d%04d", areaCodes[r.IntN(len(areaCodes))], ex, r.IntN(10000))
}

// messyPhone writes 10 digits the way a form might have stored them.
func messyPhone(r *rand.Rand, d string) string {
	a, e, n := d[:3], d[3:6], d[6:]
	switch r.IntN(7) {
	case 0:
		return "(" + a + ") " + e + "-" + n
	case 1:
		return a + "." + e + "." + n
	case 2:
		return "+1 " + a + " " + e + " " + n
	case 3:
		return a + "-" + e + "-" + n
	case 4:
		return "+1" + d
	case 5:
		return "1-" + a + "-" + e + "-" + n
	default:
		return " " + a + " " + e + " " + n + " "
	}
}

// messyEmail varies the case and surrounding white space of an address.
func messyEmail(r *rand.Rand, local, domain string) string {
	s := local + "@" + domain
	switch r.IntN(6) {
	case 0:
		// canonical
	case 1:
		s = titleWords(local, ".") + "@" + titleWords(domain, ".")
	case 2:
		s = strings.ToUpper(s)
	case 3:
		s = titleWords(local, ".") + "@" + strings.ToUpper(domain[:1]) + domain[1:len(domain)-3] + strings.ToUpper(domain[len(domain)-3:])
	case 4:
		s = "  " + titleWords(local, ".") + "@" + domain + " "
	default:
		s = "\t" + strings.ToUpper(local[:1]) + local[1:] + "@" + domain + "  "
	}
	return s
}

// titleWords upper-cases the first letter of each sep-separated part.
func titleWords(s, sep string) string {
	parts := strings.Split(s, sep)
	for i, p := range parts {
		if p != "" {
			r, n := utf8.DecodeRuneInString(p)
			parts[i] = string(unicode.ToUpper(r)) + p[n:]
		}
	}
	return strings.Join(parts, sep)
}

// messyName varies white space around and inside a name.
func messyName(r *rand.Rand, s string) string {
	switch r.IntN(8) {
	case 0:
		return " " + s
	case 1:
		return s + "  "
	case 2:
		return strings.ReplaceAll(s, " ", "  ")
	case 3:
		return "  " + strings.ReplaceAll(s, " ", " \t ") + " "
	default:
		return s
	}
}

// messyCountry varies case and white space of a country code.
func messyCountry(r *rand.Rand, c string) string {
	switch r.IntN(6) {
	case 0:
		return strings.ToLower(c)
	case 1:
		return " " + strings.ToLower(c) + " "
	case 2:
		return c[:1] + strings.ToLower(c[1:])
	case 3:
		return c + " "
	default:
		return c
	}
}

// hash64 is splitmix64: a bijective mixer used for identifiers and for
// rendering details that must not depend on generation order.
func hash64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// uuid formats a UUID (version 4 layout) from a seed. All 64 bits of
// hash64(seed) appear in the result, and hash64 is a bijection, so distinct
// seeds give distinct UUIDs.
func uuid(seed uint64) string {
	a, b := hash64(seed), hash64(^seed)
	node := ((a>>12)&0xf)<<44 | (b & 0xfffffffffff)
	return fmt.Sprintf("%08x-%04x-4%03x-%x%03x-%012x",
		a>>32, (a>>16)&0xffff, a&0xfff, 8+(b>>62), (b>>48)&0xfff, node)
}
