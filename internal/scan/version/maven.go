package version

import "strings"

// Maven orders versions as Maven 3.9's ComparableVersion: case-insensitive,
// '.' and '-' separate items and so does every digit/letter transition, a
// '-' (or a qualifier after a transition) opens a sub-list, trailing null
// items (0, "", "ga", "final", "release") are dropped. Numbers compare
// numerically and above qualifiers; known qualifiers order
// alpha < beta < milestone < rc = cr < snapshot < "" = ga = final = release < sp,
// with a, b and m meaning alpha, beta and milestone when a digit follows;
// other qualifiers sort after sp, lexically.
type Maven struct{}

type mvnKind int

const (
	mvnNum mvnKind = iota
	mvnStr
	mvnSub
)

type mvnItem struct {
	kind mvnKind
	num  string // digits without leading zeros; "" is zero
	qual string // qualifier after aliasing
	list *mvnList
}

type mvnList struct{ items []mvnItem }

// Compare implements Comparer.
func (Maven) Compare(a, b string) (int, error) {
	la, err := parseMaven(a)
	if err != nil {
		return 0, err
	}
	lb, err := parseMaven(b)
	if err != nil {
		return 0, err
	}
	return cmpMvnList(la, lb), nil
}

func mvnParseItem(digit bool, s string) mvnItem {
	if digit {
		return mvnItem{kind: mvnNum, num: strings.TrimLeft(s, "0")}
	}
	return mvnQualifier(s, false)
}

func mvnQualifier(s string, followedByDigit bool) mvnItem {
	if followedByDigit && len(s) == 1 {
		switch s {
		case "a":
			s = "alpha"
		case "b":
			s = "beta"
		case "m":
			s = "milestone"
		}
	}
	switch s {
	case "ga", "final", "release":
		s = ""
	case "cr":
		s = "rc"
	}
	return mvnItem{kind: mvnStr, qual: s}
}

func parseMaven(orig string) (*mvnList, error) {
	const kind = "Maven version"
	if orig == "" {
		return nil, invalid(kind, orig, "empty")
	}
	if hasSpaceOrControl(orig) {
		return nil, invalid(kind, orig, "whitespace or control character")
	}
	s := strings.ToLower(orig)
	root := &mvnList{}
	cur := root
	stack := []*mvnList{root}
	push := func() {
		l := &mvnList{}
		cur.items = append(cur.items, mvnItem{kind: mvnSub, list: l})
		cur = l
		stack = append(stack, l)
	}
	digit := false
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '.' || c == '-':
			if i == start {
				cur.items = append(cur.items, mvnItem{kind: mvnNum})
			} else {
				cur.items = append(cur.items, mvnParseItem(digit, s[start:i]))
			}
			start = i + 1
			if c == '-' {
				push()
			}
		case isDigit(c):
			if !digit && i > start {
				// "1.0.0.X1" sorts like "1.0.0-X1": a qualifier followed by
				// a number opens a sub-list.
				if len(cur.items) > 0 {
					push()
				}
				cur.items = append(cur.items, mvnQualifier(s[start:i], true))
				start = i
				push()
			}
			digit = true
		default:
			if digit && i > start {
				cur.items = append(cur.items, mvnParseItem(true, s[start:i]))
				start = i
				push()
			}
			digit = false
		}
	}
	if len(s) > start {
		if !digit && len(cur.items) > 0 {
			push()
		}
		cur.items = append(cur.items, mvnParseItem(digit, s[start:]))
	}
	for i := len(stack) - 1; i >= 0; i-- {
		stack[i].normalize()
	}
	return root, nil
}

func (it *mvnItem) isNull() bool {
	switch it.kind {
	case mvnNum:
		return it.num == ""
	case mvnStr:
		return it.qual == ""
	}
	return len(it.list.items) == 0
}

// normalize drops trailing null items, looking through non-null sub-lists.
func (l *mvnList) normalize() {
	for i := len(l.items) - 1; i >= 0; i-- {
		it := &l.items[i]
		if it.isNull() {
			l.items = append(l.items[:i], l.items[i+1:]...)
		} else if it.kind != mvnSub {
			break
		}
	}
}

var mvnQualifierRank = map[string]int{
	"alpha": 0, "beta": 1, "milestone": 2, "rc": 3, "snapshot": 4, "": 5, "sp": 6,
}

func cmpMvnQualifier(a, b string) int {
	ra, oka := mvnQualifierRank[a]
	rb, okb := mvnQualifierRank[b]
	if !oka {
		ra = len(mvnQualifierRank)
	}
	if !okb {
		rb = len(mvnQualifierRank)
	}
	if ra != rb {
		return sign(ra - rb)
	}
	if !oka {
		return strings.Compare(a, b)
	}
	return 0
}

// cmpMvnItem compares a with b; a nil b stands for a missing item.
func cmpMvnItem(a, b *mvnItem) int {
	switch a.kind {
	case mvnNum:
		switch {
		case b == nil:
			if a.num == "" {
				return 0
			}
			return 1
		case b.kind == mvnNum:
			return cmpDigits(a.num, b.num)
		}
		return 1 // 1.1 > 1-sp, 1.1 > 1-1
	case mvnStr:
		switch {
		case b == nil:
			return cmpMvnQualifier(a.qual, "")
		case b.kind == mvnStr:
			return cmpMvnQualifier(a.qual, b.qual)
		}
		return -1 // 1.any < 1.1, 1.any < 1-1
	}
	switch {
	case b == nil:
		for i := range a.list.items {
			if c := cmpMvnItem(&a.list.items[i], nil); c != 0 {
				return c
			}
		}
		return 0
	case b.kind == mvnNum:
		return -1 // 1-1 < 1.0.x
	case b.kind == mvnStr:
		return 1 // 1-1 > 1-sp
	}
	return cmpMvnList(a.list, b.list)
}

func cmpMvnList(a, b *mvnList) int {
	for i := 0; i < len(a.items) || i < len(b.items); i++ {
		var c int
		switch {
		case i >= len(a.items):
			c = -cmpMvnItem(&b.items[i], nil)
		case i >= len(b.items):
			c = cmpMvnItem(&a.items[i], nil)
		default:
			c = cmpMvnItem(&a.items[i], &b.items[i])
		}
		if c != 0 {
			return c
		}
	}
	return 0
}
