module example.com/heredoc

go 1.23
