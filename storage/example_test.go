package storage_test

import (
	"context"
	"fmt"
	"log"

	"github.com/eightbitml/eightbit/storage"
)

func Example() {
	ctx := context.Background()
	defer storage.DropMem("example")

	out, err := storage.Create(ctx, "mem://example/job1")
	if err != nil {
		log.Fatal(err)
	}
	defer out.Close()
	for _, key := range []string{"report.json", "int8/mnist.onnx"} {
		if err := out.WriteAtomic(ctx, key, []byte("..."), ""); err != nil {
			log.Fatal(err)
		}
	}
	keys, err := out.List(ctx, "")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(keys)

	// Resolve a path relative to the folder and read it from another handle.
	loc, err := storage.Join("mem://example/job1", "int8/mnist.onnx")
	if err != nil {
		log.Fatal(err)
	}
	data, err := storage.ReadLocation(ctx, loc)
	fmt.Println(loc, string(data), err)

	_, err = storage.Join("mem://example/job1", "../job2/report.json")
	fmt.Println(err)
	// Output:
	// [int8/mnist.onnx report.json]
	// mem://example/job1/int8/mnist.onnx ... <nil>
	// storage: join "../job2/report.json" to "mem://example/job1": path escapes the base folder
}
