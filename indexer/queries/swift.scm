; Swift definitions, references and imports for minimax_lsp.indexer.parse.
;
; Capture convention (see parse.py's module docstring for the full rules):
;   @definition.<kind>  whole definition node; <kind> is a contract kind
;   @name               the defined name (same pattern); without it, the node's
;                       `name` field
;   @scope              an `extension`: its type names the scope of its members
;   @reference          an identifier used (reference patterns capture nothing else)
;   @import             the imported module ("Foundation", "Collections.Deque")
; When two patterns define the same @name node, the earlier pattern wins.

; ---- types (class_declaration covers class, struct, enum, actor and extension)
(class_declaration
  declaration_kind: "extension"
  name: (user_type (type_identifier) @name)) @scope

(class_declaration
  declaration_kind: "struct"
  name: (type_identifier) @name) @definition.struct

(class_declaration
  declaration_kind: "enum"
  name: (type_identifier) @name) @definition.enum

(class_declaration
  name: (type_identifier) @name) @definition.class

(protocol_declaration
  name: (type_identifier) @name) @definition.interface

(typealias_declaration
  name: (type_identifier) @name) @definition.type

; ---- members (a function_declaration pattern naming its `name:` child takes the
; Swift grammar ~0.6 s to compile, so those patterns leave @name out: the engine then
; uses the node's first `name` field, which is the function's name)
[
  (class_body
    [
      (function_declaration)
      (init_declaration
        "init" @name)
    ] @definition.method)
  (enum_class_body
    [
      (function_declaration)
      (init_declaration
        "init" @name)
    ] @definition.method)
  (protocol_body
    (protocol_function_declaration
      name: (simple_identifier) @name) @definition.method)
]

[
  (class_body
    (property_declaration
      name: (pattern
        bound_identifier: (simple_identifier) @name)) @definition.field)
  (enum_class_body
    (property_declaration
      name: (pattern
        bound_identifier: (simple_identifier) @name)) @definition.field)
  (protocol_body
    (protocol_property_declaration
      name: (pattern
        bound_identifier: (simple_identifier) @name)) @definition.field)
]

; ---- functions
(function_declaration) @definition.function

; ---- top-level `let` (constant) and `var` (variable)
(source_file
  (property_declaration
    (value_binding_pattern "let")
    name: (pattern
      bound_identifier: (simple_identifier) @name)) @definition.constant)

(source_file
  (property_declaration
    name: (pattern
      bound_identifier: (simple_identifier) @name)) @definition.variable)

; ---- imports
(import_declaration
  (identifier) @import)

; ---- references
[
  (simple_identifier)
  (type_identifier)
] @reference
