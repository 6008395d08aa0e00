package httpcache

import "time"

// parseHTTPDate reads an HTTP-date (RFC 9110 §5.6.7) into Unix seconds.
// IMF-fixdate, the form every current sender uses, is parsed by hand without
// allocating; the obsolete RFC 850 and asctime forms go through time.Parse.
func parseHTTPDate(b []byte) (int64, bool) {
	b = trimOWS(b)
	if t, ok := parseIMFFixdate(b); ok {
		return t, true
	}
	if len(b) == 0 || len(b) > 64 {
		return 0, false
	}
	for _, layout := range [...]string{"Monday, 02-Jan-06 15:04:05 GMT", "Mon Jan _2 15:04:05 2006"} {
		if t, err := time.Parse(layout, string(b)); err == nil {
			return t.Unix(), true
		}
	}
	return 0, false
}

// parseIMFFixdate reads "Sun, 06 Nov 1994 08:49:37 GMT".
func parseIMFFixdate(b []byte) (int64, bool) {
	if len(b) != 29 || b[3] != ',' || b[4] != ' ' || b[7] != ' ' || b[11] != ' ' ||
		b[16] != ' ' || b[19] != ':' || b[22] != ':' || b[25] != ' ' || string(b[26:]) != "GMT" {
		return 0, false
	}
	if !knownDay(b[:3]) {
		return 0, false
	}
	month := monthOf(b[8:11])
	day, ok1 := digits(b[5:7])
	year, ok2 := digits(b[12:16])
	hour, ok3 := digits(b[17:19])
	minute, ok4 := digits(b[20:22])
	sec, ok5 := digits(b[23:25])
	if month == 0 || !(ok1 && ok2 && ok3 && ok4 && ok5) || day < 1 || hour > 23 || minute > 59 || sec > 60 {
		return 0, false
	}
	t := time.Date(year, month, day, hour, minute, sec, 0, time.UTC)
	if t.Day() != day && sec != 60 { // 31 Feb and friends
		return 0, false
	}
	return t.Unix(), true
}

func knownDay(b []byte) bool {
	switch string(b) {
	case "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun":
		return true
	}
	return false
}

func monthOf(b []byte) time.Month {
	const names = "JanFebMarAprMayJunJulAugSepOctNovDec"
	for m := range 12 {
		if string(b) == names[3*m:3*m+3] {
			return time.Month(m + 1)
		}
	}
	return 0
}

func digits(b []byte) (int, bool) {
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}
