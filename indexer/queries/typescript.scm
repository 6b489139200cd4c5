; TypeScript and TSX definitions, references and imports for
; minimax_lsp.indexer.parse (both grammars share these node names).
;
; Capture convention (see parse.py's module docstring for the full rules):
;   @definition.<kind>  whole definition node; <kind> is a contract kind
;   @name               the defined name (same pattern)
;   @body               the body; the signature is the text before it
;   @reference          an identifier used (reference patterns capture nothing else)
;   @import             a module specifier string ("x" -> x)
;   @_name              helper capture for a predicate
; When two patterns define the same @name node, the earlier pattern wins.

; ---- types
[
  (class_declaration
    name: (type_identifier) @name)
  (abstract_class_declaration
    name: (type_identifier) @name)
] @definition.class

(variable_declarator
  name: (identifier) @name
  value: (class)) @definition.class

(interface_declaration
  name: (type_identifier) @name) @definition.interface

(type_alias_declaration
  name: (type_identifier) @name) @definition.type

(enum_declaration
  name: (identifier) @name) @definition.enum

[
  (internal_module
    name: [(identifier) (nested_identifier)] @name)
  (module
    name: [(identifier) (nested_identifier)] @name)
] @definition.module

; ---- members
[
  (method_definition
    name: [(property_identifier) (private_property_identifier)] @name)
  (method_signature
    name: [(property_identifier) (private_property_identifier)] @name)
  (abstract_method_signature
    name: [(property_identifier) (private_property_identifier)] @name)
] @definition.method

[
  (public_field_definition
    name: [(property_identifier) (private_property_identifier)] @name)
  (property_signature
    name: [(property_identifier) (private_property_identifier)] @name)
] @definition.field

; `key: function () {}` / `key: () => {}` in an object literal
(pair
  key: (property_identifier) @name
  value: [(function_expression) (arrow_function)] @body) @definition.method

; ---- functions
[
  (function_declaration
    name: (identifier) @name)
  (generator_function_declaration
    name: (identifier) @name)
  (function_signature
    name: (identifier) @name)
] @definition.function

(lexical_declaration
  (variable_declarator
    name: (identifier) @name
    value: [
      (arrow_function body: (_) @body)
      (function_expression body: (_) @body)
      (generator_function body: (_) @body)
    ])) @definition.function

(variable_declaration
  (variable_declarator
    name: (identifier) @name
    value: [
      (arrow_function body: (_) @body)
      (function_expression body: (_) @body)
      (generator_function body: (_) @body)
    ])) @definition.function

(assignment_expression
  left: (member_expression
    property: (property_identifier) @name)
  right: [
    (arrow_function body: (_) @body)
    (function_expression body: (_) @body)
  ]) @definition.function

; ---- module-level variables (`const` -> constant, `let`/`var` -> variable)
(program
  (lexical_declaration
    "const"
    (variable_declarator
      name: (identifier) @name)) @definition.constant)

(program
  (export_statement
    declaration: (lexical_declaration
      "const"
      (variable_declarator
        name: (identifier) @name)) @definition.constant))

(program
  [
    (lexical_declaration
      (variable_declarator
        name: (identifier) @name))
    (variable_declaration
      (variable_declarator
        name: (identifier) @name))
    (export_statement
      declaration: [
        (lexical_declaration
          (variable_declarator
            name: (identifier) @name))
        (variable_declaration
          (variable_declarator
            name: (identifier) @name))
      ])
  ] @definition.variable)

; ---- imports
(import_statement
  source: (string) @import)

(import_require_clause
  source: (string) @import)

(export_statement
  source: (string) @import)

(call_expression
  function: (import)
  arguments: (arguments . (string) @import))

((call_expression
  function: (identifier) @_name
  arguments: (arguments . (string) @import))
  (#eq? @_name "require"))

; ---- references
[
  (identifier)
  (property_identifier)
  (shorthand_property_identifier)
  (type_identifier)
] @reference
