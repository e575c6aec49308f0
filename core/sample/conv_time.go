package sample

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Date converters (manual 7.3.1): ltime, utime and their ms_/us_
// variants, http_date.

func init() {
	tconv := func(name string, utc bool, unit time.Duration) *Converter {
		return &Converter{Name: name, Args: Args(1, ArgStr, ArgSInt), In: TypeSInt, Out: TypeStr,
			Fn: func(_ *Ctx, a []Arg, in Sample) (Sample, bool) {
				v := in.Int
				var t time.Time
				switch unit {
				case time.Millisecond:
					t = time.UnixMilli(v)
				case time.Microsecond:
					t = time.UnixMicro(v)
				default:
					t = time.Unix(v, 0)
				}
				if len(a) > 1 {
					t = t.Add(time.Duration(a[1].Int) * time.Second)
				}
				if utc {
					t = t.UTC()
				} else {
					t = t.Local()
				}
				return Str(strftime(a[0].Str, t, unit)), true
			}}
	}
	registerConverters(
		tconv("ltime", false, time.Second),
		tconv("utime", true, time.Second),
		tconv("ms_ltime", false, time.Millisecond),
		tconv("ms_utime", true, time.Millisecond),
		tconv("us_ltime", false, time.Microsecond),
		tconv("us_utime", true, time.Microsecond),
		&Converter{Name: "http_date", Args: Args(0, ArgSInt, ArgStr), Check: checkDateUnit(1), In: TypeSInt, Out: TypeStr, Fn: convHTTPDate},
	)
}

// checkDateUnit validates an optional "s", "ms" or "us" unit argument,
// storing its divisor per second in Int.
func checkDateUnit(i int) func(args []Arg, sc *Scope) error {
	return func(args []Arg, sc *Scope) error {
		if len(args) <= i {
			return nil
		}
		switch args[i].Str {
		case "", "s":
			args[i].Int = 1
		case "ms":
			args[i].Int = 1000
		case "us":
			args[i].Int = 1000000
		default:
			return fmt.Errorf("expects 's', 'ms' or 'us', got '%s'", args[i].Str)
		}
		return nil
	}
}

var dayNames = [...]string{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"}
var monNames = [...]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}

func convHTTPDate(_ *Ctx, a []Arg, in Sample) (Sample, bool) {
	div := int64(1)
	if len(a) > 1 && a[1].Int > 0 {
		div = a[1].Int
	}
	v := in.Int
	if len(a) > 0 {
		v += a[0].Int
	}
	sec, frac := v/div, v%div
	if frac < 0 {
		sec, frac = sec-1, frac+div
	}
	t := time.Unix(sec, 0).UTC()
	s := fmt.Sprintf("%s, %02d %s %04d %02d:%02d:%02d", dayNames[t.Weekday()], t.Day(), monNames[t.Month()-1],
		t.Year(), t.Hour(), t.Minute(), t.Second())
	if div > 1 {
		// HAProxy compat: the fraction is printed without leading zeros.
		s += "." + strconv.FormatInt(frac, 10)
	}
	return Str(s + " GMT"), true
}

// strftime formats t like the C library's strftime in the C locale.
// unit tells the precision of the input for HAProxy's extension "%N"
// (not in 2.6; kept harmless).
func strftime(format string, t time.Time, unit time.Duration) string {
	var b strings.Builder
	for i := 0; i < len(format); i++ {
		c := format[i]
		if c != '%' || i+1 >= len(format) {
			b.WriteByte(c)
			continue
		}
		i++
		c = format[i]
		// skip glibc flags and the E/O modifiers
		for (c == 'E' || c == 'O' || c == '-' || c == '_' || c == '0' || c == '^' || c == '#') && i+1 < len(format) {
			i++
			c = format[i]
		}
		b.WriteString(strftimeField(c, t))
	}
	return b.String()
}

func strftimeField(c byte, t time.Time) string {
	d2 := func(v int) string { return fmt.Sprintf("%02d", v) }
	hour12 := t.Hour() % 12
	if hour12 == 0 {
		hour12 = 12
	}
	switch c {
	case 'a':
		return dayNames[t.Weekday()]
	case 'A':
		return t.Weekday().String()
	case 'b', 'h':
		return monNames[t.Month()-1]
	case 'B':
		return t.Month().String()
	case 'c':
		return fmt.Sprintf("%s %s %2d %02d:%02d:%02d %d", dayNames[t.Weekday()], monNames[t.Month()-1], t.Day(), t.Hour(), t.Minute(), t.Second(), t.Year())
	case 'C':
		return d2(t.Year() / 100)
	case 'd':
		return d2(t.Day())
	case 'D':
		return fmt.Sprintf("%02d/%02d/%02d", int(t.Month()), t.Day(), t.Year()%100)
	case 'e':
		return fmt.Sprintf("%2d", t.Day())
	case 'F':
		return fmt.Sprintf("%04d-%02d-%02d", t.Year(), int(t.Month()), t.Day())
	case 'g':
		y, _ := t.ISOWeek()
		return d2(y % 100)
	case 'G':
		y, _ := t.ISOWeek()
		return strconv.Itoa(y)
	case 'H':
		return d2(t.Hour())
	case 'I':
		return d2(hour12)
	case 'j':
		return fmt.Sprintf("%03d", t.YearDay())
	case 'k':
		return fmt.Sprintf("%2d", t.Hour())
	case 'l':
		return fmt.Sprintf("%2d", hour12)
	case 'm':
		return d2(int(t.Month()))
	case 'M':
		return d2(t.Minute())
	case 'n':
		return "\n"
	case 'p':
		if t.Hour() < 12 {
			return "AM"
		}
		return "PM"
	case 'P':
		if t.Hour() < 12 {
			return "am"
		}
		return "pm"
	case 'r':
		return fmt.Sprintf("%02d:%02d:%02d %s", hour12, t.Minute(), t.Second(), strftimeField('p', t))
	case 'R':
		return fmt.Sprintf("%02d:%02d", t.Hour(), t.Minute())
	case 's':
		return strconv.FormatInt(t.Unix(), 10)
	case 'S':
		return d2(t.Second())
	case 't':
		return "\t"
	case 'T':
		return fmt.Sprintf("%02d:%02d:%02d", t.Hour(), t.Minute(), t.Second())
	case 'u':
		wd := int(t.Weekday())
		if wd == 0 {
			wd = 7
		}
		return strconv.Itoa(wd)
	case 'U':
		return d2((t.YearDay() + 6 - int(t.Weekday())) / 7)
	case 'V':
		_, w := t.ISOWeek()
		return d2(w)
	case 'w':
		return strconv.Itoa(int(t.Weekday()))
	case 'W':
		return d2((t.YearDay() + 6 - (int(t.Weekday())+6)%7) / 7)
	case 'x':
		return fmt.Sprintf("%02d/%02d/%02d", int(t.Month()), t.Day(), t.Year()%100)
	case 'X':
		return fmt.Sprintf("%02d:%02d:%02d", t.Hour(), t.Minute(), t.Second())
	case 'y':
		return d2(t.Year() % 100)
	case 'Y':
		return strconv.Itoa(t.Year())
	case 'z':
		_, off := t.Zone()
		sign := '+'
		if off < 0 {
			sign, off = '-', -off
		}
		return fmt.Sprintf("%c%02d%02d", sign, off/3600, off/60%60)
	case 'Z':
		name, _ := t.Zone()
		return name
	case '%':
		return "%"
	}
	return "%" + string(c)
}
