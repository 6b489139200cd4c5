; Bash definitions, references and imports for minimax_lsp.indexer.parse
; (the grammar wheel ships no tags query; this one is ours).
;
; Capture convention (see parse.py's module docstring for the full rules):
;   @definition.<kind>  whole definition node; <kind> is a contract kind
;   @name               the defined name (same pattern)
;   @reference          a command or variable name used (reference patterns
;                       capture nothing else)
;   @import             the first argument of `source x.sh` / `. x.sh`, outer quotes
;                       removed; expansions are kept as written ("$DIR/x.sh") for the
;                       resolver to interpret
;   @_name              helper capture for a predicate
; When two patterns define the same @name node, the earlier pattern wins.

; ---- functions
(function_definition
  name: (word) @name) @definition.function

; ---- script-level variables (`readonly` ones are constants)
(program
  (declaration_command
    "readonly"
    (variable_assignment
      name: (variable_name) @name)) @definition.constant)

(program
  (variable_assignment
    name: (variable_name) @name) @definition.variable)

(program
  (declaration_command
    (variable_assignment
      name: (variable_name) @name)) @definition.variable)

; ---- imports
((command
  name: (command_name (word) @_name)
  .
  argument: (_) @import)
  (#any-of? @_name "source" "."))

; ---- references
[
  (command_name (word))
  (variable_name)
] @reference
