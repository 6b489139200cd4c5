; Python definitions, references and imports for minimax_lsp.indexer.parse.
;
; Capture convention (see parse.py's module docstring for the full rules):
;   @definition.<kind>  whole definition node; <kind> is a contract kind
;   @name               the defined name (same pattern)
;   @body               the body; the signature is the text before it
;   @reference          an identifier used (reference patterns capture nothing else)
;   @import.python      an import statement, expanded to "a.b", "a.b.c", "..pkg.x"
; When two patterns define the same @name node, the earlier pattern wins, so the
; specific patterns (methods, decorated definitions) come first.

; ---- methods: functions directly in a class body (decorators included in the range)
(class_definition
  body: (block
    (decorated_definition
      definition: (function_definition
        name: (identifier) @name
        body: (block) @body)) @definition.method))

(class_definition
  body: (block
    (function_definition
      name: (identifier) @name) @definition.method))

; ---- functions and classes
(decorated_definition
  definition: (function_definition
    name: (identifier) @name
    body: (block) @body)) @definition.function

(decorated_definition
  definition: (class_definition
    name: (identifier) @name
    body: (block) @body)) @definition.class

(function_definition
  name: (identifier) @name) @definition.function

(class_definition
  name: (identifier) @name) @definition.class

; ---- class attributes (`x: int = 0`, `X = 1` in a class body)
(class_definition
  body: (block
    (expression_statement
      (assignment
        left: (identifier) @name) @definition.field)))

; ---- module-level variables (ALL_CAPS names become constants) and type aliases
(module
  (expression_statement
    (assignment
      left: (identifier) @name) @definition.variable))

(module
  (expression_statement
    (assignment
      left: (pattern_list
        (identifier) @name)) @definition.variable))

(type_alias_statement
  left: (type
    (identifier) @name)) @definition.type

; ---- imports
(import_statement) @import.python

(import_from_statement) @import.python

; ---- references
(identifier) @reference
