// peer-extproc: a minimal ext_proc capture server in Go, the peer `npm run bench:overhead` compares
// modeltap's collector with. It does the same capture job at its simplest: sample by a hash of
// x-request-id against the route's sample_rate (read from the xds.route_metadata attribute), collect
// the request and response bodies, and publish one record per sampled exchange to NATS JetStream,
// waiting for the ack. No parsing, no redaction, no buffering when NATS is down.
package main

import (
	"context"
	"encoding/binary"
	"flag"
	"hash/fnv"
	"io"
	"log"
	"net"
	"regexp"
	"strconv"
	"time"

	extproc "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc"
)

var sampleRate = regexp.MustCompile(`sample_rate[^0-9.]*([0-9.]+)`)

type server struct {
	extproc.UnimplementedExternalProcessorServer
	js      jetstream.JetStream
	subject string
}

func sampled(id string, rate float64) bool {
	h := fnv.New32a()
	h.Write([]byte(id))
	return float64(h.Sum32())/4294967296.0 < rate
}

// record: id, request body, response body, each as a 4-byte big-endian length and the bytes.
func record(id string, req, resp []byte) []byte {
	out := make([]byte, 0, 12+len(id)+len(req)+len(resp))
	for _, part := range [][]byte{[]byte(id), req, resp} {
		out = binary.BigEndian.AppendUint32(out, uint32(len(part)))
		out = append(out, part...)
	}
	return out
}

func (s *server) Process(stream extproc.ExternalProcessor_ProcessServer) error {
	var id string
	var req, resp []byte
	for {
		m, err := stream.Recv()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return nil // Envoy reset the stream: the exchange ended without its response.
		}
		switch r := m.Request.(type) {
		case *extproc.ProcessingRequest_RequestHeaders:
			for _, h := range r.RequestHeaders.GetHeaders().GetHeaders() {
				if h.Key == "x-request-id" {
					id = string(h.RawValue) + h.Value
				}
			}
			rate := 0.0
			if attrs := m.Attributes["envoy.filters.http.ext_proc"]; attrs != nil {
				if v := attrs.Fields["xds.route_metadata"]; v != nil {
					if mm := sampleRate.FindStringSubmatch(v.GetStringValue()); mm != nil {
						rate, _ = strconv.ParseFloat(mm[1], 64)
					}
				}
			}
			if !sampled(id, rate) {
				return nil // closing the stream tells Envoy to stop sending this exchange
			}
		case *extproc.ProcessingRequest_RequestBody:
			req = append(req, r.RequestBody.Body...)
		case *extproc.ProcessingRequest_ResponseBody:
			resp = append(resp, r.ResponseBody.Body...)
			if r.ResponseBody.EndOfStream {
				ctx, cancel := context.WithTimeout(stream.Context(), 5*time.Second)
				_, err := s.js.Publish(ctx, s.subject, record(id, req, resp))
				cancel()
				if err != nil {
					log.Printf("publish %s: %v", id, err)
				}
				return nil
			}
		}
	}
}

func main() {
	listen := flag.String("listen", "127.0.0.1:50052", "gRPC address for Envoy")
	natsURL := flag.String("nats", nats.DefaultURL, "NATS server")
	flag.Parse()
	nc, err := nats.Connect(*natsURL, nats.MaxReconnects(-1))
	if err != nil {
		log.Fatal(err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	_, err = js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:     "PEER_CAPTURES",
		Subjects: []string{"peer.capture"},
		Storage:  jetstream.FileStorage,
		MaxBytes: 1 << 30,
		Discard:  jetstream.DiscardOld,
	})
	cancel()
	if err != nil {
		log.Fatal(err)
	}
	lis, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	g := grpc.NewServer(grpc.MaxRecvMsgSize(64 << 20))
	extproc.RegisterExternalProcessorServer(g, &server{js: js, subject: "peer.capture"})
	log.Printf("peer-extproc listening on %s", *listen)
	log.Fatal(g.Serve(lis))
}
