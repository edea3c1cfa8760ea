package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ByteSize is a number of bytes, written as a plain number or with a binary unit ("64MiB") in
// files, environment and flags.
type ByteSize uint64

// DefaultCacheMemory is the default of cacheMemory.
const DefaultCacheMemory ByteSize = 64 << 20

const minCacheMemory ByteSize = 1 << 20

// CacheBudgets splits cacheMemory between Gatehouse's two caches of token-derived data: half
// bounds the identity registry's verified-token cache (which serves the AVP API and every
// authorizer), half the gateway's decision cache (shared by every authorizer of every API).
// Both are weighed by estimated heap bytes, not by entries, so the total stays near the budget
// whatever the number of tokens, authorizers or claims.
func (c Config) CacheBudgets() (tokens, decisions uint64) {
	m := uint64(c.CacheMemory)
	if m == 0 {
		m = uint64(DefaultCacheMemory)
	}
	return m / 2, m - m/2
}

var byteUnits = map[string]uint64{"": 1, "B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}

// ParseByteSize reads "67108864", "65536KiB", "64MiB" or "1GiB". Decimal units (MB) are refused
// rather than guessed.
func ParseByteSize(s string) (ByteSize, error) {
	t := strings.TrimSpace(s)
	i := strings.IndexFunc(t, func(r rune) bool { return r < '0' || r > '9' })
	num, unit := t, ""
	if i >= 0 {
		num, unit = t[:i], strings.TrimSpace(t[i:])
	}
	mult, ok := byteUnits[unit]
	n, err := strconv.ParseUint(num, 10, 64)
	if !ok || err != nil || n > math.MaxUint64/mult {
		return 0, fmt.Errorf("invalid size %.40q (use a number of bytes or KiB, MiB, GiB, e.g. 64MiB)", s)
	}
	return ByteSize(n * mult), nil
}

// String writes the size with the largest binary unit that divides it.
func (b ByteSize) String() string {
	for _, u := range []string{"GiB", "MiB", "KiB"} {
		if m := byteUnits[u]; b != 0 && uint64(b)%m == 0 {
			return strconv.FormatUint(uint64(b)/m, 10) + u
		}
	}
	return strconv.FormatUint(uint64(b), 10)
}

// UnmarshalJSON accepts a number of bytes or a string like "64MiB".
func (b *ByteSize) UnmarshalJSON(data []byte) error {
	v, err := ParseByteSize(strings.Trim(string(data), `"`))
	if err != nil {
		return err
	}
	*b = v
	return nil
}

// MarshalJSON writes the size as a string with its unit.
func (b ByteSize) MarshalJSON() ([]byte, error) { return []byte(strconv.Quote(b.String())), nil }
