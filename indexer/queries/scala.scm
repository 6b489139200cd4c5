; Scala definitions, references and imports for minimax_lsp.indexer.parse.
;
; Capture convention (see parse.py's module docstring for the full rules):
;   @definition.<kind>  whole definition node; <kind> is a contract kind
;   @name               the defined name (same pattern)
;   @reference          an identifier used (reference patterns capture nothing else)
;   @import.scala       an import: "a.b.C"; selectors expanded (`a.{B, C => D}` ->
;                       a.B, a.C); a wildcard gives the prefix ("a.b")
; When two patterns define the same @name node, the earlier pattern wins: members
; of a class, object or trait body are methods and fields.
; The package clause is not an import.

; ---- types
[
  (class_definition
    name: (identifier) @name)
  (object_definition
    name: (identifier) @name)
] @definition.class

(trait_definition
  name: (identifier) @name) @definition.interface

(enum_definition
  name: (identifier) @name) @definition.enum

(type_definition
  name: (type_identifier) @name) @definition.type

; ---- members
(template_body
  [
    (function_definition
      name: (identifier) @name)
    (function_declaration
      name: (identifier) @name)
  ] @definition.method)

(template_body
  [
    (val_definition
      pattern: (identifier) @name)
    (var_definition
      pattern: (identifier) @name)
    (val_declaration
      name: (identifier) @name)
    (var_declaration
      name: (identifier) @name)
  ] @definition.field)

; ---- functions and top-level values
[
  (function_definition
    name: (identifier) @name)
  (function_declaration
    name: (identifier) @name)
] @definition.function

(compilation_unit
  (val_definition
    pattern: (identifier) @name) @definition.constant)

(compilation_unit
  (var_definition
    pattern: (identifier) @name) @definition.variable)

; ---- imports
(import_declaration) @import.scala

; ---- references
[
  (identifier)
  (type_identifier)
] @reference
