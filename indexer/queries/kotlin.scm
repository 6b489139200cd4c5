; Kotlin definitions, references and imports for minimax_lsp.indexer.parse.
;
; Capture convention (see parse.py's module docstring for the full rules):
;   @definition.<kind>  whole definition node; <kind> is a contract kind
;   @name               the defined name (same pattern)
;   @body               the body; the signature is the text before it
;   @receiver           an extension function's receiver type, prepended to its scope
;   @reference          an identifier used (reference patterns capture nothing else)
;   @import             the imported name; for `import a.b.*` it is "a.b"
;   @_mod               helper capture for a predicate
; When two patterns define the same @name node, the earlier pattern wins.
; The package header is not an import.

; ---- classes, interfaces, enums, objects
(class_declaration
  "interface"
  name: (identifier) @name
  (class_body)? @body) @definition.interface

((class_declaration
  (modifiers (class_modifier) @_mod)
  name: (identifier) @name
  (enum_class_body)? @body) @definition.enum
  (#eq? @_mod "enum"))

[
  (class_declaration
    name: (identifier) @name
    [(class_body) (enum_class_body)]? @body)
  (object_declaration
    name: (identifier) @name
    (class_body)? @body)
  (companion_object
    name: (identifier) @name
    (class_body)? @body)
] @definition.class

(type_alias
  type: (identifier) @name) @definition.type

; ---- functions: members are methods, extensions are scoped by their receiver
[
  (class_body
    (function_declaration
      name: (identifier) @name
      (function_body)? @body) @definition.method)
  (enum_class_body
    (function_declaration
      name: (identifier) @name
      (function_body)? @body) @definition.method)
]

(function_declaration
  (user_type) @receiver
  "."
  name: (identifier) @name
  (function_body)? @body) @definition.function

(function_declaration
  name: (identifier) @name
  (function_body)? @body) @definition.function

; ---- properties: members are fields, top-level ones variables or constants
[
  (class_body
    (property_declaration
      (variable_declaration
        (identifier) @name)) @definition.field)
  (enum_class_body
    (property_declaration
      (variable_declaration
        (identifier) @name)) @definition.field)
]

((source_file
  (property_declaration
    (modifiers (property_modifier) @_mod)
    (variable_declaration
      (identifier) @name)) @definition.constant)
  (#eq? @_mod "const"))

(source_file
  (property_declaration
    (variable_declaration
      (identifier) @name)) @definition.variable)

; ---- imports
(import
  (qualified_identifier) @import)

; ---- references
(identifier) @reference
