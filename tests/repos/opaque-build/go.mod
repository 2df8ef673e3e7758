module example.com/opaque

go 1.22
