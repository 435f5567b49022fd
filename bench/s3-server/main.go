// A fast in-memory S3-compatible server for the bench's S3 variant at 200,000 objects: moto (the
// stack's S3) takes 120–300 PUTs a second on this machine, so putting back the objects a reset deleted,
// before each of six runs, would take most of an hour. This one (github.com/johannesboyne/gofakes3,
// its in-memory backend) takes about a thousand. It speaks the same S3 API on loopback (path-style
// addressing, PutObject, HeadObject, ListObjectsV2, DeleteObjects) and keeps nothing on disk: the bench
// starts it, loads its fixture into it, and stops it at the end. Never for the tests, which use moto.
//
//	go build -o "$RR_STATE_DIR/tools/bench-s3-server" ./bench/s3-server  (bench/lib/memory-s3.ts does it)
//	bench-s3-server -addr 127.0.0.1:PORT
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "where to listen (loopback)")
	flag.Parse()
	faker := gofakes3.New(s3mem.New(), gofakes3.WithAutoBucket(true), gofakes3.WithLogger(gofakes3.DiscardLog()))
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	// The bench reads this line for the port.
	fmt.Fprintf(os.Stdout, "listening on http://%s\n", ln.Addr())
	log.Fatal(http.Serve(ln, faker.Server()))
}
