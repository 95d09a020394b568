package hnsw

import "slices"

// Repair relinks the neighbours of deleted nodes and frees the deleted
// nodes' ids for reuse. It holds the index exclusively while it runs (work
// spread over all cores). Upsert and Delete start one in the background
// when the tombstones reach Config.RepairRatio of the live nodes.
func (x *Index[K, M]) Repair() {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.closed {
		return
	}
	n := int(x.next.Load())
	if x.trained {
		parallel(n, func(i int) {
			u := uint32(i)
			if x.state(u) != stateLive {
				return
			}
			c := x.getCtx()
			defer x.putCtx(c)
			ch, s := x.chunk(u)
			for l := 0; l <= int(ch.level[s]); l++ {
				x.relink(c, u, l)
			}
		})
	}
	freed := 0
	for id := uint32(0); id < uint32(n); id++ {
		if x.state(id) == stateDeleted {
			x.freeNode(id)
			freed++
		}
	}
	x.keyMu.Lock()
	x.dead -= freed
	x.keyMu.Unlock()
	if x.maxLevel >= 0 && x.state(x.ep) != stateLive {
		x.ep, x.maxLevel = 0, -1
		for id := uint32(0); id < uint32(n); id++ {
			if x.state(id) != stateLive {
				continue
			}
			ch, s := x.chunk(id)
			if l := int(ch.level[s]); l > x.maxLevel {
				x.ep, x.maxLevel = id, l
			}
		}
	}
}

// relink replaces the deleted nodes in u's list at layer l by the best of
// u's live neighbours and the live neighbours of the deleted ones. Only u's
// list is written; the lists read belong to u and to deleted nodes, which
// no one writes during a repair.
func (x *Index[K, M]) relink(c *searchCtx, u uint32, l int) {
	ls := x.links(u, l)
	own := ls[1 : 1+ls[0]]
	if !slices.ContainsFunc(own, func(id uint32) bool { return x.state(id) == stateDeleted }) {
		return
	}
	c.reset()
	c.visit(u)
	uc, ub := x.codes(u)
	c.prune = c.prune[:0]
	add := func(id uint32) {
		if !c.visit(id) && x.state(id) == stateLive {
			c.prune = append(c.prune, item{x.dist(uc, ub, id), id})
		}
	}
	for _, nb := range own {
		if x.state(nb) == stateDeleted {
			dl := x.links(nb, l)
			for _, nb2 := range dl[1 : 1+dl[0]] {
				add(nb2)
			}
		} else {
			add(nb)
		}
	}
	slices.SortFunc(c.prune, byDist)
	max := x.maxLinks(l)
	c.prune = c.prune[:min(len(c.prune), 3*max)]
	c.psel = x.selectNeighbours(c.psel, c.prune, max)
	ls[0] = uint32(len(c.psel))
	for i, e := range c.psel {
		ls[1+i] = e.id
	}
}
