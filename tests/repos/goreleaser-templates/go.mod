module example.com/gorel

go 1.22
