// franz-peer: a bare franz-go producer for benches/peers.sh. It produces -n records of -size bytes
// to -topic (one goroutine, asynchronous produces, unthrottled), keyed over -keys rotating keys as
// pubduel's Kafka lane keys them, waits for every ack, and prints one summary line:
//
//	franz: N acked, E errors, R msgs/s, ack p50 P us (W warm-up records left out), elapsed S s
//
// msgs/s and p50 cover the records after the first -warmup; each record's ack latency runs from
// its Produce call (which waits while -max-buffered records are un-acked) to its promise.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

func main() {
	brokers := flag.String("brokers", "127.0.0.1:9092", "bootstrap brokers")
	topic := flag.String("topic", "", "topic (must exist)")
	n := flag.Int("n", 1000000, "records to produce")
	warmup := flag.Int("warmup", 0, "first records left out of msgs/s and p50")
	size := flag.Int("size", 256, "record value size in bytes")
	keys := flag.Int("keys", 64, "rotating record keys key-0..key-(keys-1); 0 for null keys")
	linger := flag.Duration("linger", 5*time.Millisecond, "producer linger")
	batchBytes := flag.Int("batch-bytes", 1000000, "largest record batch in bytes")
	maxBuffered := flag.Int("max-buffered", 4096, "most records buffered and un-acked")
	maxInflight := flag.Int("max-inflight", 5, "produce requests in flight per broker")
	flag.Parse()
	if *topic == "" || *n <= 0 || *warmup < 0 || *warmup >= *n {
		fmt.Fprintln(os.Stderr, "franz-peer: give -topic, -n > 0 and 0 <= -warmup < -n")
		os.Exit(2)
	}

	cl, err := kgo.NewClient(
		kgo.SeedBrokers(*brokers),
		kgo.DefaultProduceTopic(*topic),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.DisableIdempotentWrite(), // as pubduel's librdkafka: enable.idempotence=false
		kgo.MaxProduceRequestsInflightPerBroker(*maxInflight),
		kgo.ProducerLinger(*linger),
		kgo.ProducerBatchMaxBytes(int32(*batchBytes)),
		kgo.ProducerBatchCompression(kgo.NoCompression()),
		kgo.MaxBufferedRecords(*maxBuffered),
	)
	if err != nil {
		fmt.Fprintln(os.Stderr, "franz-peer:", err)
		os.Exit(1)
	}
	defer cl.Close()

	value := make([]byte, *size)
	for i := range value {
		value[i] = byte('a' + i%26)
	}
	keyList := make([][]byte, *keys)
	for i := range keyList {
		keyList[i] = []byte("key-" + strconv.Itoa(i))
	}

	lat := make([]int64, *n) // ack latency per record, ns
	var errs atomic.Int64
	var firstErr atomic.Value
	done := make(chan struct{})
	var remaining atomic.Int64
	remaining.Store(int64(*n))
	var tLast atomic.Int64 // ns since start of the last ack
	start := time.Now()
	var tWarm time.Duration // when the first record after the warm-up was produced

	ctx := context.Background()
	for i := 0; i < *n; i++ {
		if i == *warmup {
			tWarm = time.Since(start)
		}
		r := &kgo.Record{Value: value}
		if *keys > 0 {
			r.Key = keyList[i%*keys]
		}
		idx := i
		sent := time.Now()
		cl.Produce(ctx, r, func(_ *kgo.Record, err error) {
			now := time.Now()
			if err != nil {
				if errs.Add(1) == 1 {
					firstErr.Store(err.Error())
				}
				lat[idx] = -1
			} else {
				lat[idx] = int64(now.Sub(sent))
			}
			tLast.Store(int64(now.Sub(start)))
			if remaining.Add(-1) == 0 {
				close(done)
			}
		})
	}
	<-done
	elapsed := time.Duration(tLast.Load())

	steady := make([]int64, 0, *n-*warmup)
	for _, l := range lat[*warmup:] {
		if l >= 0 {
			steady = append(steady, l)
		}
	}
	slices.Sort(steady)
	p50 := 0.0
	if len(steady) > 0 {
		p50 = float64(steady[len(steady)/2]) / 1e3
	}
	acked := int64(*n) - errs.Load()
	rate := float64(len(steady)) / (elapsed - tWarm).Seconds()
	if e := firstErr.Load(); e != nil {
		fmt.Fprintln(os.Stderr, "franz-peer: first error:", e)
	}
	fmt.Printf("franz: %d acked, %d errors, %.1f msgs/s, ack p50 %.1f us (%d warm-up records left out), elapsed %.3f s\n",
		acked, errs.Load(), rate, p50, *warmup, elapsed.Seconds())
	if errs.Load() > 0 {
		os.Exit(1)
	}
}
