; JavaScript (and JSX) definitions, references and imports for
; minimax_lsp.indexer.parse.
;
; Capture convention (see parse.py's module docstring for the full rules):
;   @definition.<kind>  whole definition node; <kind> is a contract kind
;   @name               the defined name (same pattern)
;   @body               the body; the signature is the text before it
;   @reference          an identifier used (reference patterns capture nothing else)
;   @import             a module specifier string ("x" -> x)
;   @_name              helper capture for a predicate
; When two patterns define the same @name node, the earlier pattern wins.

; ---- classes and their members
(class_declaration
  name: (identifier) @name) @definition.class

(variable_declarator
  name: (identifier) @name
  value: (class)) @definition.class

(method_definition
  name: [(property_identifier) (private_property_identifier)] @name) @definition.method

(field_definition
  property: [(property_identifier) (private_property_identifier)] @name) @definition.field

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

; `exports.name = function () {}`, `module.exports.name = () => {}`
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
] @reference
