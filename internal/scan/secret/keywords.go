package secret

// matcher is an Aho-Corasick automaton over lowercase keywords: one pass
// over a file (ASCII letters folded to lowercase on the fly) reports where
// keywords occur, so rules whose keywords are absent cost nothing.
type matcher struct {
	next  [][256]int32 // goto function with failure links folded in
	out   [][]int32    // keyword indexes ending at each state
	words []string
}

func newMatcher(words []string) *matcher {
	m := &matcher{next: make([][256]int32, 1), out: make([][]int32, 1), words: words}
	for i, w := range words {
		s := int32(0)
		for j := 0; j < len(w); j++ {
			c := lower(w[j])
			if m.next[s][c] == 0 {
				m.next = append(m.next, [256]int32{})
				m.out = append(m.out, nil)
				m.next[s][c] = int32(len(m.next) - 1)
			}
			s = m.next[s][c]
		}
		m.out[s] = append(m.out[s], int32(i))
	}
	// Breadth-first: failure links, then fold them into the goto table.
	fail := make([]int32, len(m.next))
	queue := make([]int32, 0, len(m.next))
	for c := 0; c < 256; c++ {
		if s := m.next[0][c]; s != 0 {
			queue = append(queue, s)
		}
	}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		if f := m.out[fail[s]]; len(f) > 0 {
			m.out[s] = append(append([]int32(nil), m.out[s]...), f...)
		}
		for c := 0; c < 256; c++ {
			t := m.next[s][c]
			if t == 0 {
				m.next[s][c] = m.next[fail[s]][c]
				continue
			}
			fail[t] = m.next[fail[s]][c]
			queue = append(queue, t)
		}
	}
	return m
}

// scanPos appends to pos[i] the end offset (exclusive) of every hit of
// keyword i in data.
func (m *matcher) scanPos(data []byte, pos [][]int32) {
	s := int32(0)
	for j, b := range data {
		s = m.next[s][lower(b)]
		for _, i := range m.out[s] {
			pos[i] = append(pos[i], int32(j+1))
		}
	}
}

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
