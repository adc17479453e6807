package dataset

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
)

// Digest returns the hex SHA-256 of the samples: for each usable sample its
// id, label and bytes (the encoded file for encoded formats, the raw pixels
// for fixed-size ones), then the ids and errors of the bad samples. Equal
// splits give equal digests wherever they were read from; it costs one pass
// over bytes already in memory.
func (s *Samples) Digest() string {
	h := sha256.New()
	var num [8]byte
	str := func(v string) {
		binary.BigEndian.PutUint64(num[:], uint64(len(v)))
		h.Write(num[:])
		h.Write([]byte(v))
	}
	data := func(b []byte) {
		binary.BigEndian.PutUint64(num[:], uint64(len(b)))
		h.Write(num[:])
		h.Write(b)
	}
	for i, e := range s.items {
		str(s.IDs[i])
		binary.BigEndian.PutUint64(num[:], uint64(int64(s.Labels[i])))
		h.Write(num[:])
		switch {
		case e.encoded != nil:
			h.Write([]byte{'e'})
			data(e.encoded)
		case e.fixed != nil:
			f := e.fixed
			sz := f.H * f.W * f.C
			h.Write([]byte{'r'})
			binary.BigEndian.PutUint64(num[:], uint64(f.H)<<40|uint64(f.W)<<20|uint64(f.C))
			h.Write(num[:])
			data(f.Pix[e.index*sz : (e.index+1)*sz])
		}
	}
	for _, b := range s.Bad {
		str(b.ID)
		str(b.Err)
	}
	return hex.EncodeToString(h.Sum(nil))
}
