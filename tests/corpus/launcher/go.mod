module launcher

go 1.21
