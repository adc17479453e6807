package tfgraph

func addQuantized(m map[string]converter) {}
