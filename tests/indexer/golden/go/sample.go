// Package sample exercises every definition and import form we extract.
package sample

import "fmt"

import (
	"os"
	str "strings"
	_ "github.com/lib/pq"
	. "github.com/acme/dsl"
)

const MaxItems = 10

const (
	modeA = iota
	modeB
)

var registry = map[string]int{}

var first, second int

type Store struct {
	Name  string
	items []Item
}

type Item struct{ ID int }

type Reader interface {
	Read(p []byte) (int, error)
}

type ID = string

type Handler func(s *Store) error

func NewStore(name string) *Store {
	helper := func() string { return str.ToUpper(name) }
	return &Store{Name: helper()}
}

func (s *Store) Add(item Item) {
	s.items = append(s.items, item)
	fmt.Println(len(s.items), os.Args)
}

func (s Store) Len() int { return len(s.items) }

func Map[T any, U any](xs []T, f func(T) U) []U {
	return nil
}
