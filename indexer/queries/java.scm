; Java definitions, references and imports for minimax_lsp.indexer.parse.
;
; Capture convention (see parse.py's module docstring for the full rules):
;   @definition.<kind>  whole definition node; <kind> is a contract kind
;   @name               the defined name (same pattern)
;   @reference          an identifier used (reference patterns capture nothing else)
;   @import             the imported name; for `import a.b.*;` it is "a.b"
; When two patterns define the same @name node, the earlier pattern wins.
; The package declaration is not an import.

; ---- types
[
  (class_declaration
    name: (identifier) @name)
  (record_declaration
    name: (identifier) @name)
] @definition.class

[
  (interface_declaration
    name: (identifier) @name)
  (annotation_type_declaration
    name: (identifier) @name)
] @definition.interface

(enum_declaration
  name: (identifier) @name) @definition.enum

; ---- members
[
  (method_declaration
    name: (identifier) @name)
  (constructor_declaration
    name: (identifier) @name)
  (compact_constructor_declaration
    name: (identifier) @name)
  (annotation_type_element_declaration
    name: (identifier) @name)
] @definition.method

[
  (field_declaration
    declarator: (variable_declarator
      name: (identifier) @name))
  (constant_declaration
    declarator: (variable_declarator
      name: (identifier) @name))
] @definition.field

; ---- imports
(import_declaration
  [(scoped_identifier) (identifier)] @import)

; ---- references
[
  (identifier)
  (type_identifier)
] @reference
