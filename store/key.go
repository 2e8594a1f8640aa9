package store

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"fmt"
)

// ParseKey reads an encryption key from the contents of a key file or an
// environment variable. It accepts, in this order of precedence:
//
//   - hex text of a 16, 24 or 32-byte key (openssl rand -hex 32 > key);
//   - base64 text of such a key, standard or URL alphabet, padded or not
//     (openssl rand -base64 32 > key);
//   - exactly 16, 24 or 32 raw bytes (head -c 32 /dev/urandom > key).
//
// Whitespace around hex and base64 text (a trailing newline) is ignored;
// raw bytes are taken as they are, whitespace included. Text is tried
// first: 32 raw bytes that happen to be all hex digits would be read as a
// 16-byte hex key, which random bytes essentially never are. The result is
// a new slice. Errors never quote the input.
func ParseKey(b []byte) ([]byte, error) {
	text := bytes.TrimSpace(b)
	if len(text) > 0 {
		if k, err := hex.DecodeString(string(text)); err == nil && validKeyLen(len(k)) {
			return k, nil
		}
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
			if k, err := enc.DecodeString(string(text)); err == nil && validKeyLen(len(k)) {
				return k, nil
			}
		}
	}
	if validKeyLen(len(b)) {
		return bytes.Clone(b), nil
	}
	if len(text) == 0 {
		return nil, fmt.Errorf("%w: the key is empty", ErrEncryptionKey)
	}
	return nil, fmt.Errorf("%w: want 16, 24 or 32 raw bytes, or hex or base64 text of such a key; got %d bytes (%d without surrounding whitespace) that are neither",
		ErrEncryptionKey, len(b), len(text))
}
