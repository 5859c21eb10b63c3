-- Argo CD health for sagemaker.ic-operator.io/InferenceComponent.
--
-- The operator reports three conditions (Ready, Progressing, Degraded), each
-- with its own observedGeneration, and status.observedGeneration. A result is
-- only trusted when it describes the current spec: right after a sync the
-- conditions still speak about the previous generation, and showing that as
-- Healthy (or Degraded) would let a sync wave move on (or alarm) too early.
--
--   current generation not yet processed        -> Progressing
--   Degraded=True                                -> Degraded (the condition's message)
--   Progressing=False, reason Suspended          -> Suspended (spec.suspend: the operator's
--                                                   message says what resuming will send)
--   Ready=True                                   -> Healthy
--   anything else (no status, rolling, waiting)  -> Progressing
--     (waiting for the endpoint: WaitingForEndpoint, "endpoint X is Creating (4m12s)...")
--
-- While the object is terminating, the same message goes to hs.deletionMessage: without
-- it Argo CD replaces the result with "Pending deletion; blocked by finalizers: ..." for
-- as long as the operator is deleting the component in SageMaker.
--
-- Written for Argo CD's Lua 5.1 (gopher-lua) with the libraries a script from argocd-cm
-- gets by default (useOpenLibs false): base, table, package and a safe os; no string library.

local hs = {}

local function find_condition(conditions, condition_type)
  if conditions == nil then
    return nil
  end
  for _, condition in ipairs(conditions) do
    if condition.type == condition_type then
      return condition
    end
  end
  return nil
end

local function describe(condition)
  local reason = condition.reason
  local message = condition.message
  if reason ~= nil and reason ~= "" and message ~= nil and message ~= "" then
    return reason .. ": " .. message
  end
  if message ~= nil and message ~= "" then
    return message
  end
  if reason ~= nil and reason ~= "" then
    return reason
  end
  return condition.type .. " is " .. tostring(condition.status)
end

-- A condition is current when it was computed for this generation; a condition
-- without its own observedGeneration falls back to the status-level one.
local function is_current(condition, generation, status_generation)
  if generation == nil then
    return true
  end
  local observed = condition.observedGeneration
  if observed == nil then
    observed = status_generation
  end
  return observed ~= nil and observed >= generation
end

-- The health status code and message of obj.
local function assess()
  local generation = nil
  if obj.metadata ~= nil then
    generation = obj.metadata.generation
  end
  local status = obj.status

  if status == nil or (status.conditions == nil and status.observedGeneration == nil) then
    return "Progressing", "Waiting for the operator to report status"
  end

  local status_generation = status.observedGeneration
  if generation ~= nil and (status_generation == nil or status_generation < generation) then
    if status_generation == nil then
      return "Progressing", "Waiting for the operator to process generation " .. tostring(generation)
    end
    return "Progressing", "Waiting for the operator to process generation " .. tostring(generation)
      .. " (last processed: " .. tostring(status_generation) .. ")"
  end

  local conditions = status.conditions
  local degraded = find_condition(conditions, "Degraded")
  local ready = find_condition(conditions, "Ready")
  local progressing = find_condition(conditions, "Progressing")

  if degraded ~= nil and degraded.status == "True" and is_current(degraded, generation, status_generation) then
    return "Degraded", describe(degraded)
  end
  if progressing ~= nil and progressing.status == "False" and progressing.reason == "Suspended"
      and is_current(progressing, generation, status_generation) then
    if progressing.message ~= nil and progressing.message ~= "" then
      return "Suspended", progressing.message
    end
    return "Suspended", "Suspended: the operator writes nothing to AWS (spec.suspend)"
  end
  if ready ~= nil and ready.status == "True" and is_current(ready, generation, status_generation) then
    return "Healthy", describe(ready)
  end
  if progressing ~= nil and progressing.status == "True" then
    return "Progressing", describe(progressing)
  end
  if ready ~= nil then
    return "Progressing", describe(ready)
  end
  return "Progressing", "Waiting for the Ready condition"
end

hs.status, hs.message = assess()
if obj.metadata ~= nil and obj.metadata.deletionTimestamp ~= nil then
  hs.deletionMessage = hs.message
end
return hs
