package hnsw

// item is a node and its distance to a query (lower is closer).
type item struct {
	d  float32
	id uint32
}

// minHeap pops the closest item first.
type minHeap []item

// maxHeap keeps the farthest item on top, to bound a result set.
type maxHeap []item

func (h *minHeap) push(x item) { *h = push(*h, x, 1) }
func (h *minHeap) pop() item   { return pop((*[]item)(h), 1) }
func (h *maxHeap) push(x item) { *h = push(*h, x, -1) }
func (h *maxHeap) pop() item   { return pop((*[]item)(h), -1) }

// offer keeps the k closest items seen.
func (h *maxHeap) offer(x item, k int) {
	if len(*h) < k {
		h.push(x)
	} else if x.d < (*h)[0].d {
		h.pop()
		h.push(x)
	}
}

// push and pop keep s a binary heap on sign·d (1: min-heap, -1: max-heap).
func push(s []item, x item, sign float32) []item {
	s = append(s, x)
	i := len(s) - 1
	for i > 0 {
		p := (i - 1) / 2
		if sign*s[p].d <= sign*s[i].d {
			break
		}
		s[p], s[i] = s[i], s[p]
		i = p
	}
	return s
}

func pop(h *[]item, sign float32) item {
	s := *h
	top := s[0]
	last := len(s) - 1
	s[0] = s[last]
	s = s[:last]
	*h = s
	i := 0
	for {
		l, m := 2*i+1, i
		if l < len(s) && sign*s[l].d < sign*s[m].d {
			m = l
		}
		if r := l + 1; r < len(s) && sign*s[r].d < sign*s[m].d {
			m = r
		}
		if m == i {
			return top
		}
		s[i], s[m] = s[m], s[i]
		i = m
	}
}
