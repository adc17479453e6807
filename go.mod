module github.com/eightbitml/eightbit

go 1.26.0
