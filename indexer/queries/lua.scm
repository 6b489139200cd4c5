; Lua definitions, references and imports for minimax_lsp.indexer.parse.
;
; Capture convention (see parse.py's module docstring for the full rules):
;   @definition.<kind>  whole definition node; <kind> is a contract kind
;   @name               the defined name (same pattern)
;   @receiver           the table of `function M.f()` / `function M:f()`, prepended
;                       to the scope
;   @reference          an identifier used (reference patterns capture nothing else)
;   @import             the module string of `require("a.b")` / `require "a.b"`
;   @_name              helper capture for a predicate
; When two patterns define the same @name node, the earlier pattern wins.

; ---- functions: `function M:f()` is a method, everything else a function
(function_declaration
  name: (method_index_expression
    table: (_) @receiver
    method: (identifier) @name)) @definition.method

(function_declaration
  name: (dot_index_expression
    table: (_) @receiver
    field: (identifier) @name)) @definition.function

(function_declaration
  name: (identifier) @name) @definition.function

; `M.f = function () end`, `local f = function () end`
(assignment_statement
  (variable_list
    .
    name: [
      (identifier) @name
      (dot_index_expression
        table: (_) @receiver
        field: (identifier) @name)
    ])
  (expression_list
    .
    value: (function_definition))) @definition.function

; `{ name = function () end }`
(field
  name: (identifier) @name
  value: (function_definition)) @definition.function

; ---- file-level variables (ALL_CAPS names become constants)
(chunk
  (variable_declaration
    (assignment_statement
      (variable_list
        name: (identifier) @name))) @definition.variable)

(chunk
  (variable_declaration
    (variable_list
      name: (identifier) @name)) @definition.variable)

(chunk
  (assignment_statement
    (variable_list
      name: (identifier) @name)) @definition.variable)

; ---- imports (`require "a.b"` parses with the same `arguments` node)
((function_call
  name: (identifier) @_name
  arguments: (arguments
    .
    (string
      content: (string_content) @import)))
  (#eq? @_name "require"))

; ---- references
(identifier) @reference
