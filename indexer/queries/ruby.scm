; Ruby definitions, references and imports for minimax_lsp.indexer.parse.
;
; Capture convention (see parse.py's module docstring for the full rules):
;   @definition.<kind>  whole definition node; <kind> is a contract kind
;   @name               the defined name (same pattern)
;   @reference          an identifier or constant used (reference patterns capture
;                       nothing else)
;   @import             `require "x"` -> x, `load "x.rb"` -> x.rb
;   @import.relative    `require_relative "x"` -> ./x (kept as is when it starts with .)
;   @_name              helper capture for a predicate
; When two patterns define the same @name node, the earlier pattern wins: a `def`
; at the top level is a function, anywhere else a method.

; ---- methods and functions
(program
  (method
    name: (_) @name) @definition.function)

[
  (method
    name: (_) @name)
  (singleton_method
    name: (_) @name)
] @definition.method

; ---- classes and modules (`class A::B` is named B)
(class
  name: [
    (constant) @name
    (scope_resolution name: (_) @name)
  ]) @definition.class

(module
  name: [
    (constant) @name
    (scope_resolution name: (_) @name)
  ]) @definition.module

; ---- constants
(assignment
  left: (constant) @name) @definition.constant

; ---- imports (string literals without interpolation only)
((call
  method: (identifier) @_name
  arguments: (argument_list . (string . (string_content) @import .)))
  (#any-of? @_name "require" "load"))

((call
  method: (identifier) @_name
  arguments: (argument_list . (string . (string_content) @import.relative .)))
  (#eq? @_name "require_relative"))

; ---- references
[
  (identifier)
  (constant)
] @reference
