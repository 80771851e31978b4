package synthea

import (
	"crypto/sha1"
	"encoding/binary"
	"hash"
)

// rowNamespace is the UUID namespace of ids derived from row contents. It is
// itself the version 5 UUID of the name "axtract.synthea.row" in the RFC 9562
// URL namespace, and it must never change, or re-imports would duplicate rows.
var rowNamespace = [16]byte{ // e477b422-13d9-5d54-bec1-400fc20cd0a4
	0xe4, 0x77, 0xb4, 0x22, 0x13, 0xd9, 0x5d, 0x54,
	0xbe, 0xc1, 0x40, 0x0f, 0xc2, 0x0c, 0xd0, 0xa4,
}

// rowHasher derives name-based (version 5, SHA-1) UUIDs for rows of one file
// that have no id of their own. The name is the file name followed by the
// row's fields, each prefixed by its length so that no two different rows
// produce the same name. It reuses its buffers and is not safe for
// concurrent use.
type rowHasher struct {
	hash   hash.Hash
	sum    []byte
	prefix [binary.MaxVarintLen64]byte
}

func newRowHasher() *rowHasher {
	return &rowHasher{hash: sha1.New()}
}

func (h *rowHasher) id(file string, fields []string) [16]byte {
	h.hash.Reset()
	h.hash.Write(rowNamespace[:])
	h.writeField(file)
	for _, field := range fields {
		h.writeField(field)
	}
	h.sum = h.hash.Sum(h.sum[:0])

	var id [16]byte
	copy(id[:], h.sum)
	id[6] = id[6]&0x0f | 0x50 // version 5
	id[8] = id[8]&0x3f | 0x80 // RFC 9562 variant
	return id
}

func (h *rowHasher) writeField(field string) {
	n := binary.PutUvarint(h.prefix[:], uint64(len(field)))
	h.hash.Write(h.prefix[:n])
	h.hash.Write([]byte(field))
}
