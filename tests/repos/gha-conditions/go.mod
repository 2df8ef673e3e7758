module example.com/gha

go 1.22
