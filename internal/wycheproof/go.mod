module github.com/crumbhq/crumb/internal/wycheproof

go 1.26.4
