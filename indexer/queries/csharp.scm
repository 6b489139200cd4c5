; C# definitions, references and imports for minimax_lsp.indexer.parse.
;
; Capture convention (see parse.py's module docstring for the full rules):
;   @definition.<kind>  whole definition node; <kind> is a contract kind
;   @name               the defined name (same pattern)
;   @reference          an identifier used (reference patterns capture nothing else)
;   @import.csharp      a `using` directive -> "System.Text" (an alias's target)
; When two patterns define the same @name node, the earlier pattern wins.

; ---- namespaces and types
[
  (namespace_declaration
    name: [(identifier) (qualified_name)] @name)
  (file_scoped_namespace_declaration
    name: [(identifier) (qualified_name)] @name)
] @definition.module

[
  (class_declaration
    name: (identifier) @name)
  (record_declaration
    name: (identifier) @name)
] @definition.class

(struct_declaration
  name: (identifier) @name) @definition.struct

(interface_declaration
  name: (identifier) @name) @definition.interface

(enum_declaration
  name: (identifier) @name) @definition.enum

(delegate_declaration
  name: (identifier) @name) @definition.type

; ---- members
[
  (method_declaration
    name: (identifier) @name)
  (constructor_declaration
    name: (identifier) @name)
  (destructor_declaration
    name: (identifier) @name)
] @definition.method

(local_function_statement
  name: (identifier) @name) @definition.function

[
  (property_declaration
    name: (identifier) @name)
  (field_declaration
    (variable_declaration
      (variable_declarator
        name: (identifier) @name)))
  (event_field_declaration
    (variable_declaration
      (variable_declarator
        name: (identifier) @name)))
] @definition.field

; ---- imports
(using_directive) @import.csharp

; ---- references
(identifier) @reference
