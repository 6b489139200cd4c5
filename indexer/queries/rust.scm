; Rust definitions, references and imports for minimax_lsp.indexer.parse.
;
; Capture convention (see parse.py's module docstring for the full rules):
;   @definition.<kind>  whole definition node; <kind> is a contract kind
;   @name               the defined name (same pattern)
;   @scope              an `impl` block: its type names the scope of its items
;   @reference          an identifier used (reference patterns capture nothing else)
;   @import             an `extern crate` name
;   @import.rust        the argument of `use`, expanded to "a::b::c" paths
;   @import.rust_mod    `mod foo;` (no body) -> "mod foo"
; When two patterns define the same @name node, the earlier pattern wins.

; ---- impl blocks open a scope named after their type
(impl_item
  type: [
    (type_identifier) @name
    (generic_type type: (type_identifier) @name)
    (scoped_type_identifier name: (type_identifier) @name)
    (generic_type type: (scoped_type_identifier name: (type_identifier) @name))
  ]) @scope

; ---- methods: functions in impl and trait bodies
(impl_item
  body: (declaration_list
    (function_item
      name: (identifier) @name) @definition.method))

(trait_item
  body: (declaration_list
    [
      (function_item
        name: (identifier) @name)
      (function_signature_item
        name: (identifier) @name)
    ] @definition.method))

; ---- functions
[
  (function_item
    name: (identifier) @name)
  (function_signature_item
    name: (identifier) @name)
] @definition.function

; ---- types
[
  (struct_item
    name: (type_identifier) @name)
  (union_item
    name: (type_identifier) @name)
] @definition.struct

(enum_item
  name: (type_identifier) @name) @definition.enum

(trait_item
  name: (type_identifier) @name) @definition.interface

(type_item
  name: (type_identifier) @name) @definition.type

[
  (struct_item
    body: (field_declaration_list
      (field_declaration
        name: (field_identifier) @name) @definition.field))
  (union_item
    body: (field_declaration_list
      (field_declaration
        name: (field_identifier) @name) @definition.field))
]

; ---- modules, macros, constants, statics
(mod_item
  name: (identifier) @name
  body: (declaration_list)) @definition.module

(macro_definition
  name: (identifier) @name) @definition.macro

(const_item
  name: (identifier) @name) @definition.constant

(static_item
  name: (identifier) @name) @definition.variable

; ---- imports
(use_declaration
  argument: (_) @import.rust)

((mod_item
  !body) @import.rust_mod)

(extern_crate_declaration
  name: (identifier) @import)

; ---- references
[
  (identifier)
  (field_identifier)
  (type_identifier)
] @reference
