; C++ definitions, references and includes for minimax_lsp.indexer.parse.
;
; Capture convention (see parse.py's module docstring for the full rules):
;   @definition.<kind>  whole definition node; <kind> is a contract kind
;   @name               the defined name (same pattern)
;   @receiver           the `Foo` of an out-of-line `Foo::bar`, prepended to its scope
;   @reference          an identifier used (reference patterns capture nothing else)
;   @import             an #include path: "foo/bar.h" -> foo/bar.h, <vector> kept as is
; When two patterns define the same @name node, the earlier pattern wins: methods
; and templates come before the plain function and class patterns. An out-of-line
; `ns::f()` cannot be told from `Class::f()` by syntax; both are methods.

; ---- templates: report the whole `template <...>` declaration
(template_declaration
  [
    (class_specifier name: (type_identifier) @name body: (_) @body)
    (struct_specifier name: (type_identifier) @name body: (_) @body)
  ]) @definition.class

(template_declaration
  (function_definition
    declarator: [
      (function_declarator declarator: (identifier) @name)
      (pointer_declarator declarator: (function_declarator declarator: (identifier) @name))
      (reference_declarator (function_declarator declarator: (identifier) @name))
    ]
    body: (_) @body)) @definition.function

; ---- methods declared or defined in a class body
(field_declaration_list
  [
    (function_definition
      declarator: [
        (function_declarator
          declarator: [(field_identifier) (identifier) (destructor_name) (operator_name)] @name)
        (pointer_declarator
          declarator: (function_declarator
            declarator: [(field_identifier) (identifier) (operator_name)] @name))
        (reference_declarator
          (function_declarator
            declarator: [(field_identifier) (identifier) (operator_name)] @name))
      ])
    (field_declaration
      declarator: [
        (function_declarator
          declarator: [(field_identifier) (identifier) (destructor_name) (operator_name)] @name)
        (pointer_declarator
          declarator: (function_declarator
            declarator: [(field_identifier) (identifier) (operator_name)] @name))
        (reference_declarator
          (function_declarator
            declarator: [(field_identifier) (identifier) (operator_name)] @name))
      ])
    (declaration
      declarator: (function_declarator
        declarator: [(identifier) (destructor_name) (operator_name)] @name))
    (template_declaration
      [
        (function_definition
          declarator: (function_declarator
            declarator: [(field_identifier) (identifier) (operator_name)] @name))
        (field_declaration
          declarator: (function_declarator
            declarator: [(field_identifier) (identifier) (operator_name)] @name))
        (declaration
          declarator: (function_declarator
            declarator: [(identifier) (operator_name)] @name))
      ])
  ] @definition.method)

; ---- methods defined out of line: `void Foo::bar() {}`, `Foo<T>::~Foo() {}`
(function_definition
  declarator: [
    (function_declarator
      declarator: (qualified_identifier
        scope: (_) @receiver
        name: [(identifier) (destructor_name) (operator_name)] @name))
    (function_declarator
      declarator: (qualified_identifier
        scope: (_) @receiver
        name: (qualified_identifier
          scope: (_) @receiver
          name: [(identifier) (destructor_name) (operator_name)] @name)))
    (pointer_declarator
      declarator: (function_declarator
        declarator: (qualified_identifier
          scope: (_) @receiver
          name: [(identifier) (operator_name)] @name)))
    (reference_declarator
      (function_declarator
        declarator: (qualified_identifier
          scope: (_) @receiver
          name: [(identifier) (operator_name)] @name)))
  ]) @definition.method

; ---- free functions (definitions and prototypes)
[
  (function_definition
    declarator: (function_declarator
      declarator: (identifier) @name))
  (function_definition
    declarator: (pointer_declarator
      declarator: (function_declarator
        declarator: (identifier) @name)))
  (function_definition
    declarator: (reference_declarator
      (function_declarator
        declarator: (identifier) @name)))
  (declaration
    declarator: (function_declarator
      declarator: (identifier) @name))
  (declaration
    declarator: (pointer_declarator
      declarator: (function_declarator
        declarator: (identifier) @name)))
] @definition.function

; ---- types
(class_specifier
  name: (type_identifier) @name
  body: (_)) @definition.class

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

(alias_declaration
  name: (type_identifier) @name) @definition.type

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

(namespace_definition
  name: [(namespace_identifier) (nested_namespace_specifier)] @name) @definition.module

(field_declaration
  declarator: [
    (field_identifier) @name
    (pointer_declarator declarator: (field_identifier) @name)
    (array_declarator declarator: (field_identifier) @name)
    (reference_declarator (field_identifier) @name)
  ]) @definition.field

; ---- macros
[
  (preproc_def
    name: (identifier) @name)
  (preproc_function_def
    name: (identifier) @name)
] @definition.macro

; ---- file- and namespace-level variables (not inside functions or classes)
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

(declaration_list
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
  (namespace_identifier)
] @reference
