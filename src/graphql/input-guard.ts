import {
  type ASTNode,
  type DocumentNode,
  getNamedType,
  getNullableType,
  GraphQLError,
  type GraphQLInputType,
  type GraphQLSchema,
  isInputObjectType,
  isListType,
  Kind,
  type OperationDefinitionNode,
  type TypeNode,
  TypeInfo,
  typeFromAST,
  visit,
  visitWithTypeInfo,
} from 'graphql';

/**
 * The one check of what a client sends, run by both transports after validation and before graphql-js
 * coerces anything: every string (literal or variable, JSON scalars and object keys included) free of NUL
 * and lone UTF-16 surrogates (PostgreSQL and our libraries refuse both, deep inside a resolver), no empty
 * ID, every Float literal finite, and variables no deeper than {@link MAX_VARIABLE_DEPTH}
 * (graphql-js coerces them recursively; 5,000 nested arrays overflowed the stack). Iterative throughout.
 */

/** Deeper than any input we take (an EPCIS document nests about ten levels), far below what overflows. */
export const MAX_VARIABLE_DEPTH = 64;

/** Why a string cannot be taken, or undefined when it can. */
function stringProblem(s: string): { reason: string; message: string } | undefined {
  if (s.includes('\u0000')) return { reason: 'NUL_CHARACTER', message: 'contains a NUL character' };
  if (!s.isWellFormed()) return { reason: 'LONE_SURROGATE', message: 'contains a lone UTF-16 surrogate (not valid Unicode)' };
  return undefined;
}

/**
 * An empty ID names nothing and never reaches a service. Non-empty ones that cannot name a row (not a UUID,
 * src/db/ids.ts) are left to the services, which answer NOT_FOUND after their access checks, as documented.
 */
function idProblem(s: string): { reason: string; message: string } | undefined {
  return s === '' ? { reason: 'EMPTY_ID', message: 'is an empty ID' } : undefined;
}

function refusal(field: string, problem: { reason: string; message: string }, nodes?: ASTNode): GraphQLError {
  return new GraphQLError(`${field} ${problem.message}`, { nodes, extensions: { code: 'BAD_USER_INPUT', field, reason: problem.reason } });
}

const isIdType = (type: GraphQLInputType | undefined | null) => !!type && getNamedType(type).name === 'ID';

/** Literal values in the document, with the input type TypeInfo expects at each (so IDs are known). */
function checkLiterals(schema: GraphQLSchema, document: DocumentNode, errors: GraphQLError[]): void {
  const typeInfo = new TypeInfo(schema);
  /** "field(arg.sub[2])": the nearest field, then the argument, object fields and list indices down to the value. */
  const where = (path: readonly (string | number)[]) => {
    let field = 'variable default';
    const parts: string[] = [];
    let at: unknown = document;
    let inList = false;
    for (const key of path) {
      at = (at as Record<string | number, unknown>)[key];
      if (inList && typeof key === 'number' && parts.length) parts[parts.length - 1] += `[${key}]`;
      const node = at as Partial<ASTNode> | undefined;
      if (Array.isArray(at)) continue;
      inList = node?.kind === Kind.LIST;
      if (node?.kind === Kind.FIELD) {
        field = node.name!.value;
        parts.length = 0;
      } else if (node?.kind === Kind.ARGUMENT || node?.kind === Kind.OBJECT_FIELD) parts.push(node.name!.value);
    }
    return `${field}(${parts.join('.')})`;
  };
  visit(
    document,
    visitWithTypeInfo(typeInfo, {
      StringValue(node, _key, _parent, path) {
        const problem = stringProblem(node.value) ?? (isIdType(typeInfo.getInputType()) ? idProblem(node.value) : undefined);
        if (problem) errors.push(refusal(where(path), problem, node));
      },
      IntValue(node, _key, _parent, path) {
        if (isIdType(typeInfo.getInputType())) {
          const problem = idProblem(node.value);
          if (problem) errors.push(refusal(where(path), problem, node));
        }
      },
      FloatValue(node, _key, _parent, path) {
        // graphql-js parses a Float literal with parseFloat and no finiteness check: 1e999 would reach a resolver as Infinity.
        if (!Number.isFinite(Number(node.value))) {
          errors.push(refusal(where(path), { reason: 'NOT_FINITE', message: 'is not a finite number' }, node));
        }
      },
    }),
  );
}

type Pending = { value: unknown; type: GraphQLInputType | undefined; path: string; depth: number };

/** Walks one variable's value along its declared type, without recursion. */
function checkVariable(name: string, type: GraphQLInputType | undefined, root: unknown, errors: GraphQLError[]): void {
  const stack: Pending[] = [{ value: root, type, path: `$${name}`, depth: 0 }];
  while (stack.length) {
    const { value, type: declared, path, depth } = stack.pop()!;
    if (depth > MAX_VARIABLE_DEPTH) {
      errors.push(refusal(`$${name}`, { reason: 'TOO_DEEP', message: `is nested more than ${MAX_VARIABLE_DEPTH} levels deep` }));
      return; // one report per variable; the rest of it is not worth walking
    }
    const t = declared && (getNullableType(declared) as GraphQLInputType);
    if (typeof value === 'string') {
      const problem = stringProblem(value) ?? (isIdType(t) ? idProblem(value) : undefined);
      if (problem) errors.push(refusal(path, problem));
    } else if (typeof value === 'number') {
      if (isIdType(t)) {
        const problem = idProblem(String(value));
        if (problem) errors.push(refusal(path, problem));
      }
    } else if (Array.isArray(value)) {
      const item = t && isListType(t) ? (t.ofType as GraphQLInputType) : isInputObjectType(t) || isIdType(t) ? t : undefined;
      for (let i = value.length - 1; i >= 0; i--) stack.push({ value: value[i], type: item, path: `${path}[${i}]`, depth: depth + 1 });
    } else if (value && typeof value === 'object') {
      // A list type given one object coerces it as a one-item list.
      const objectType = t && isListType(t) ? getNullableType(t.ofType) : t;
      const fields = isInputObjectType(objectType) ? objectType.getFields() : undefined;
      for (const [key, v] of Object.entries(value)) {
        const keyProblem = stringProblem(key);
        if (keyProblem) errors.push(refusal(`${path} (a key)`, keyProblem));
        stack.push({ value: v, type: fields?.[key]?.type, path: `${path}.${key}`, depth: depth + 1 });
      }
    }
  }
}

/** The operation graphql-js will run: the named one, or the only one. */
function operationOf(document: DocumentNode, operationName?: string | null): OperationDefinitionNode | undefined {
  const ops = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  return operationName ? ops.find((o) => o.name?.value === operationName) : ops.length === 1 ? ops[0] : undefined;
}

const literalChecks = new WeakMap<GraphQLSchema, WeakMap<DocumentNode, GraphQLError[]>>();

/**
 * Everything wrong with a validated document's literals and its variables, as BAD_USER_INPUT errors naming
 * the field (empty when the input may be executed). Used by HTTP (an Apollo plugin) and graphql-ws alike.
 */
export function checkOperationInput(schema: GraphQLSchema, document: DocumentNode, operationName: string | null | undefined, variables: unknown): GraphQLError[] {
  // Apollo hands the same DocumentNode to every request with the same query text: its literals are checked once.
  let perSchema = literalChecks.get(schema);
  if (!perSchema) literalChecks.set(schema, (perSchema = new WeakMap()));
  let literalErrors = perSchema.get(document);
  if (!literalErrors) {
    literalErrors = [];
    checkLiterals(schema, document, literalErrors);
    perSchema.set(document, literalErrors);
  }
  const errors: GraphQLError[] = [...literalErrors];
  if (variables && typeof variables === 'object') {
    const declared = new Map<string, TypeNode>();
    for (const v of operationOf(document, operationName)?.variableDefinitions ?? []) declared.set(v.variable.name.value, v.type);
    for (const [name, value] of Object.entries(variables)) {
      const typeNode = declared.get(name);
      const type = typeNode ? (typeFromAST(schema, typeNode as never) as GraphQLInputType | undefined) : undefined;
      checkVariable(name, type, value, errors);
    }
  }
  return errors.slice(0, 20);
}
