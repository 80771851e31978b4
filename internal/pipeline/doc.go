// Package pipeline turns the byte stream of a feed (the output of a COPY or
// of a format writer) into the file a partner receives. The stream is
// optionally compressed with gzip or zstd or packed into a zip archive, then
// optionally encrypted to the partner's OpenPGP key and signed with the
// instance's key, and written to a destination such as an SFTP upload.
//
// # Concurrency and memory
//
// Every layer (compression, encryption, the destination) runs on its own
// goroutine and receives data through a stage: a pool of eight 256 KiB
// buffers handed over on a channel. The goroutine reading the COPY stream
// therefore copies each row into a buffer and returns, and waits only when a
// slower layer has every buffer in use. Gzip compresses 1 MiB blocks on up
// to four goroutines (no more than GOMAXPROCS), and zstd encodes a block
// while the previous one is written. Memory per pipeline is bounded by these
// pools and does not grow with the feed.
//
// # Keys
//
// ParseRecipient validates a partner's armored public key on its own, so the
// caller can fail a feed whose key is expired, revoked or unable to encrypt
// before its COPY starts. LoadSigner does the same for the signing key.
// ExpiresSoon reports keys close to expiry.
//
// # Errors
//
// An error of the destination or of a layer is returned by a later Write or
// by Close. After an error the caller calls Abort and discards the output.
package pipeline
