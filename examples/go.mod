module github.com/crumbhq/crumb/examples

go 1.26.4

require github.com/crumbhq/crumb v0.0.0

replace github.com/crumbhq/crumb => ../
