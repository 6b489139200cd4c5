; PHP definitions, references and imports for minimax_lsp.indexer.parse.
;
; Capture convention (see parse.py's module docstring for the full rules):
;   @definition.<kind>  whole definition node; <kind> is a contract kind
;   @name               the defined name (same pattern)
;   @reference          a name used (reference patterns capture nothing else)
;   @import             a require/include path literal -> x.php
;   @import.php_use     a `use` declaration -> "A\B\C" (groups expanded)
;   @import.php_dir     the literal of `__DIR__ . '/x.php'` -> ./x.php
;   @_name              helper capture for a predicate
; When two patterns define the same @name node, the earlier pattern wins.

; ---- namespaces and types
(namespace_definition
  name: (namespace_name) @name) @definition.module

[
  (class_declaration
    name: (name) @name)
  (trait_declaration
    name: (name) @name)
] @definition.class

(interface_declaration
  name: (name) @name) @definition.interface

(enum_declaration
  name: (name) @name) @definition.enum

; ---- functions, methods, properties, constants
(function_definition
  name: (name) @name) @definition.function

(method_declaration
  name: (name) @name) @definition.method

(property_declaration
  (property_element
    name: (variable_name (name) @name))) @definition.field

(const_declaration
  (const_element
    (name) @name)) @definition.constant

; ---- imports
(namespace_use_declaration) @import.php_use

(require_expression
  [
    (string . (string_content) @import .)
    (encapsed_string . (string_content) @import .)
    (parenthesized_expression
      [
        (string . (string_content) @import .)
        (encapsed_string . (string_content) @import .)
      ])
  ])

((require_expression
  [
    (binary_expression
      left: (name) @_name
      right: [
        (string . (string_content) @import.php_dir .)
        (encapsed_string . (string_content) @import.php_dir .)
      ])
    (parenthesized_expression
      (binary_expression
        left: (name) @_name
        right: [
          (string . (string_content) @import.php_dir .)
          (encapsed_string . (string_content) @import.php_dir .)
        ]))
  ])
  (#eq? @_name "__DIR__"))

(require_once_expression
  [
    (string . (string_content) @import .)
    (encapsed_string . (string_content) @import .)
    (parenthesized_expression
      [
        (string . (string_content) @import .)
        (encapsed_string . (string_content) @import .)
      ])
  ])

((require_once_expression
  [
    (binary_expression
      left: (name) @_name
      right: [
        (string . (string_content) @import.php_dir .)
        (encapsed_string . (string_content) @import.php_dir .)
      ])
    (parenthesized_expression
      (binary_expression
        left: (name) @_name
        right: [
          (string . (string_content) @import.php_dir .)
          (encapsed_string . (string_content) @import.php_dir .)
        ]))
  ])
  (#eq? @_name "__DIR__"))

(include_expression
  [
    (string . (string_content) @import .)
    (encapsed_string . (string_content) @import .)
    (parenthesized_expression
      [
        (string . (string_content) @import .)
        (encapsed_string . (string_content) @import .)
      ])
  ])

((include_expression
  [
    (binary_expression
      left: (name) @_name
      right: [
        (string . (string_content) @import.php_dir .)
        (encapsed_string . (string_content) @import.php_dir .)
      ])
    (parenthesized_expression
      (binary_expression
        left: (name) @_name
        right: [
          (string . (string_content) @import.php_dir .)
          (encapsed_string . (string_content) @import.php_dir .)
        ]))
  ])
  (#eq? @_name "__DIR__"))

(include_once_expression
  [
    (string . (string_content) @import .)
    (encapsed_string . (string_content) @import .)
    (parenthesized_expression
      [
        (string . (string_content) @import .)
        (encapsed_string . (string_content) @import .)
      ])
  ])

((include_once_expression
  [
    (binary_expression
      left: (name) @_name
      right: [
        (string . (string_content) @import.php_dir .)
        (encapsed_string . (string_content) @import.php_dir .)
      ])
    (parenthesized_expression
      (binary_expression
        left: (name) @_name
        right: [
          (string . (string_content) @import.php_dir .)
          (encapsed_string . (string_content) @import.php_dir .)
        ]))
  ])
  (#eq? @_name "__DIR__"))

; ---- references
(name) @reference
