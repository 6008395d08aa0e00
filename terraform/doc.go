// Package terraform will hold the Terraform provider that rolls out regions
// and shards through the core's admin API, with its modules and examples
// (DESIGN.md, Terraform). It arrives with a later issue.
package terraform
