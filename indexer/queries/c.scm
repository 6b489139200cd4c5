; C definitions, references and includes for minimax_lsp.indexer.parse.
;
; Capture convention (see parse.py's module docstring for the full rules):
;   @definition.<kind>  whole definition node; <kind> is a contract kind
;   @name               the defined name (same pattern)
;   @reference          an identifier used (reference patterns capture nothing else)
;   @import             an #include path: "foo/bar.h" -> foo/bar.h, <stdio.h> kept as is
; When two patterns define the same @name node, the earlier pattern wins.

; ---- functions (definitions, and prototypes: a header's API is its prototypes)
[
  (function_definition
    declarator: (function_declarator
      declarator: (identifier) @name))
  (function_definition
    declarator: (pointer_declarator
      declarator: (function_declarator
        declarator: (identifier) @name)))
  (function_definition
    declarator: (pointer_declarator
      declarator: (pointer_declarator
        declarator: (function_declarator
          declarator: (identifier) @name))))
  (declaration
    declarator: (function_declarator
      declarator: (identifier) @name))
  (declaration
    declarator: (pointer_declarator
      declarator: (function_declarator
        declarator: (identifier) @name)))
] @definition.function

; ---- types
; `typedef struct tag {...} alias;` defines both names on the whole typedef (so the
; fields are scoped by the alias, not by "alias.tag")
(type_definition
  type: [
    (struct_specifier name: (type_identifier) @name body: (_))
    (union_specifier name: (type_identifier) @name body: (_))
  ]) @definition.struct

(type_definition
  type: (enum_specifier name: (type_identifier) @name body: (_))) @definition.enum

(type_definition
  type: [(struct_specifier body: (_)) (union_specifier body: (_))]
  declarator: (type_identifier) @name) @definition.struct

(type_definition
  type: (enum_specifier body: (_))
  declarator: (type_identifier) @name) @definition.enum

(type_definition
  declarator: [
    (type_identifier) @name
    (pointer_declarator declarator: (type_identifier) @name)
    (function_declarator declarator: (parenthesized_declarator (pointer_declarator declarator: (type_identifier) @name)))
  ]) @definition.type

[
  (struct_specifier
    name: (type_identifier) @name
    body: (_))
  (union_specifier
    name: (type_identifier) @name
    body: (_))
] @definition.struct

(enum_specifier
  name: (type_identifier) @name
  body: (_)) @definition.enum

(field_declaration
  declarator: [
    (field_identifier) @name
    (pointer_declarator declarator: (field_identifier) @name)
    (array_declarator declarator: (field_identifier) @name)
  ]) @definition.field

; ---- macros
[
  (preproc_def
    name: (identifier) @name)
  (preproc_function_def
    name: (identifier) @name)
] @definition.macro

; ---- file-level variables (also inside #if blocks, not inside functions)
(translation_unit
  (declaration
    declarator: [
      (identifier) @name
      (pointer_declarator declarator: (identifier) @name)
      (array_declarator declarator: (identifier) @name)
      (init_declarator declarator: (identifier) @name)
      (init_declarator declarator: (pointer_declarator declarator: (identifier) @name))
      (init_declarator declarator: (array_declarator declarator: (identifier) @name))
    ]) @definition.variable)

(preproc_ifdef
  (declaration
    declarator: [
      (identifier) @name
      (pointer_declarator declarator: (identifier) @name)
      (array_declarator declarator: (identifier) @name)
      (init_declarator declarator: (identifier) @name)
      (init_declarator declarator: (pointer_declarator declarator: (identifier) @name))
      (init_declarator declarator: (array_declarator declarator: (identifier) @name))
    ]) @definition.variable)

(preproc_if
  (declaration
    declarator: [
      (identifier) @name
      (pointer_declarator declarator: (identifier) @name)
      (array_declarator declarator: (identifier) @name)
      (init_declarator declarator: (identifier) @name)
      (init_declarator declarator: (pointer_declarator declarator: (identifier) @name))
      (init_declarator declarator: (array_declarator declarator: (identifier) @name))
    ]) @definition.variable)

(preproc_else
  (declaration
    declarator: [
      (identifier) @name
      (pointer_declarator declarator: (identifier) @name)
      (array_declarator declarator: (identifier) @name)
      (init_declarator declarator: (identifier) @name)
      (init_declarator declarator: (pointer_declarator declarator: (identifier) @name))
      (init_declarator declarator: (array_declarator declarator: (identifier) @name))
    ]) @definition.variable)

(preproc_elif
  (declaration
    declarator: [
      (identifier) @name
      (pointer_declarator declarator: (identifier) @name)
      (array_declarator declarator: (identifier) @name)
      (init_declarator declarator: (identifier) @name)
      (init_declarator declarator: (pointer_declarator declarator: (identifier) @name))
      (init_declarator declarator: (array_declarator declarator: (identifier) @name))
    ]) @definition.variable)

; ---- includes
(preproc_include
  path: [(string_literal) (system_lib_string)] @import)

; ---- references
[
  (identifier)
  (field_identifier)
  (type_identifier)
] @reference
