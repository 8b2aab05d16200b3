package k8saudit

// Allocation-free RFC 3339 parsing and the time formats of Falco's time
// fields. Times are rendered in UTC, where Falco uses the local time zone
// for evt.time and jevt.time: Vigil's output must not depend on the
// machine's zone.

const (
	nsPerSec  = 1_000_000_000
	secPerDay = 86400
)

// daysFromCivil returns the number of days from 1970-01-01 to y-m-d in the
// proleptic Gregorian calendar (Howard Hinnant's algorithm).
func daysFromCivil(y, m, d int64) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

// civilFromDays is the inverse of daysFromCivil.
func civilFromDays(z int64) (y, m, d int64) {
	z += 719468
	era := z / 146097
	if z < 0 && z%146097 != 0 {
		era--
	}
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y = yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d = doy - (153*mp+2)/5 + 1
	m = mp + 3
	if m > 12 {
		m -= 12
	}
	if m <= 2 {
		y++
	}
	return y, m, d
}

func daysIn(y, m int64) int64 {
	switch m {
	case 4, 6, 9, 11:
		return 30
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	}
	return 31
}

// digits parses the n decimal digits at s[i:].
func digits(s string, i, n int) (int64, bool) {
	if i+n > len(s) {
		return 0, false
	}
	var v int64
	for k := i; k < i+n; k++ {
		c := s[k]
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int64(c-'0')
	}
	return v, true
}

// parseRFC3339 parses an RFC 3339 date-time such as
// 2024-03-01T10:00:00.123456Z or 2024-03-01T12:00:00+02:00 into nanoseconds
// since the epoch. It reports false for malformed text and for times out of
// the range of int64 nanoseconds.
func parseRFC3339(s string) (int64, bool) {
	if len(s) < len("2006-01-02T15:04:05Z") {
		return 0, false
	}
	y, ok1 := digits(s, 0, 4)
	mo, ok2 := digits(s, 5, 2)
	d, ok3 := digits(s, 8, 2)
	h, ok4 := digits(s, 11, 2)
	mi, ok5 := digits(s, 14, 2)
	se, ok6 := digits(s, 17, 2)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || s[4] != '-' || s[7] != '-' ||
		(s[10] != 'T' && s[10] != 't') || s[13] != ':' || s[16] != ':' {
		return 0, false
	}
	if mo < 1 || mo > 12 || d < 1 || d > daysIn(y, mo) || h > 23 || mi > 59 || se > 59 {
		return 0, false
	}
	i := 19
	var frac int64
	if i < len(s) && s[i] == '.' {
		i++
		start := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			if i-start < 9 {
				frac = frac*10 + int64(s[i]-'0')
			}
			i++
		}
		nd := i - start
		if nd == 0 {
			return 0, false
		}
		for ; nd < 9; nd++ {
			frac *= 10
		}
	}
	if i >= len(s) {
		return 0, false
	}
	var off int64
	switch s[i] {
	case 'Z', 'z':
		i++
	case '+', '-':
		oh, ok1 := digits(s, i+1, 2)
		om, ok2 := digits(s, i+4, 2)
		if !ok1 || !ok2 || s[i+3] != ':' || oh > 23 || om > 59 {
			return 0, false
		}
		off = oh*3600 + om*60
		if s[i] == '-' {
			off = -off
		}
		i += 6
	default:
		return 0, false
	}
	if i != len(s) {
		return 0, false
	}
	secs := daysFromCivil(y, mo, d)*secPerDay + h*3600 + mi*60 + se - off
	// int64 nanoseconds span 1677-09-21 to 2262-04-11.
	const minSec, maxSec = -9223372036, 9223372035
	if secs < minSec || secs > maxSec {
		return 0, false
	}
	return secs*nsPerSec + frac, true
}

// splitTime returns the UTC calendar fields of ns nanoseconds since the
// epoch.
func splitTime(ns int64) (y, mo, d, h, mi, s, frac int64) {
	secs := ns / nsPerSec
	frac = ns % nsPerSec
	if frac < 0 {
		frac += nsPerSec
		secs--
	}
	days := secs / secPerDay
	rem := secs % secPerDay
	if rem < 0 {
		rem += secPerDay
		days--
	}
	y, mo, d = civilFromDays(days)
	return y, mo, d, rem / 3600, rem % 3600 / 60, rem % 60, frac
}

// appendPad appends v as at least width decimal digits.
func appendPad(b []byte, v int64, width int) []byte {
	if v < 0 {
		b = append(b, '-')
		v = -v
	}
	var tmp [20]byte
	i := len(tmp)
	for v >= 10 || width > 1 {
		i--
		tmp[i] = byte('0' + v%10)
		v /= 10
		width--
	}
	i--
	tmp[i] = byte('0' + v)
	return append(b, tmp[i:]...)
}

// Time layouts of appendTime.
const (
	layoutTime      = iota // 15:04:05.000000000
	layoutTimeS            // 15:04:05
	layoutDatetime         // 2006-01-02 15:04:05.000000000
	layoutDatetimeS        // 2006-01-02 15:04:05
	layoutISO              // 2006-01-02T15:04:05.000000000+0000
)

// appendTime appends ns formatted in UTC after layout.
func appendTime(b []byte, ns int64, layout int) []byte {
	y, mo, d, h, mi, s, frac := splitTime(ns)
	if layout == layoutDatetime || layout == layoutDatetimeS || layout == layoutISO {
		b = appendPad(b, y, 4)
		b = append(b, '-')
		b = appendPad(b, mo, 2)
		b = append(b, '-')
		b = appendPad(b, d, 2)
		if layout == layoutISO {
			b = append(b, 'T')
		} else {
			b = append(b, ' ')
		}
	}
	b = appendPad(b, h, 2)
	b = append(b, ':')
	b = appendPad(b, mi, 2)
	b = append(b, ':')
	b = appendPad(b, s, 2)
	if layout == layoutTime || layout == layoutDatetime || layout == layoutISO {
		b = append(b, '.')
		b = appendPad(b, frac, 9)
	}
	if layout == layoutISO {
		b = append(b, "+0000"...)
	}
	return b
}
