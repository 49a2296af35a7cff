#!lua name=webcared
--[[
webcared.lua - Redis Functions library of webcared's windows (issue 5).

Loaded with FUNCTION LOAD REPLACE by the daemon at connect and again when a
call fails with "Function not found" (FUNCTION FLUSH, a fresh replica).

Every key of a brand shares the hash tag {brand}: KEYS[1] is the prefix
"wc:{brand}" and every key the functions touch is KEYS[1] .. ":<suffix>", so
one call stays in one Redis Cluster slot.

  wc_apply  KEYS[1]  ARGV: wall_ms, config json, "w2", brand, payload...
      Applies one flush of the in-process aggregation of one brand. The
      payload (flat arguments, format "w2" in pipeline/window.h: no JSON to
      decode) holds chunks, one per input (topic, partition) with the lowest
      and highest Kafka offset it covers. Idempotence: the highest applied
      offset per chunk key is kept in <p>:meta; a chunk whose highest
      offset is already applied is skipped, a chunk that straddles it makes
      the whole call return {"split", chunk key, applied offset} without
      changing anything (the daemon drops the applied part and calls again).
      Then evaluates clusters, escalations, SLA and follow-ups and returns
      {"ok", n, key1, kind1, json1, ...} for new alert events, which are also
      kept in <p>:outbox until the daemon acknowledges their delivery.
  wc_ack    KEYS[1]  ARGV: outbox keys...   delete delivered alerts
  wc_stats  KEYS[1]  ARGV: wall_ms, brand -> stats json (resets the
      interval counters)

Cost: the number of Redis commands of one wc_apply does not depend on the
number of mentions in it. State is kept in a few hashes per brand (cases,
author dossiers, clusters, meta) that are read with one HMGET each for
everything the flush needs, changed in Lua tables in event order (same
results as applying the events one by one) and written back with one HSET
each; sorted sets and lists get one multi-member command each. Per-member
expiry (case and dossier TTLs) is logical (a record older than its TTL
reads as absent) plus a lazy clean-up through time-bucketed index lists.

Key layout (<p> = wc:{brand}), documented in docs/WINDOWS.md:
  <p>:meta   hash  "m<partition>"/"r<partition>" -> applied offset; first
                   (first event ms), wm (max event ms), wall; s.<counter>
                   interval counters for webcare.stats; xc, xa clean-up
                   cursors (index bucket numbers)
  <p>:cl     hash  per cluster "<kind>|<topic>|" + m<minute> / h<hour> counts,
                   tot, state fields, x (example ids, json), p|<phrase>
                   counts; "open": open clusters, tab-separated
  <p>:cs     hash  case_id -> packed case (author, class, times, reshares)
  <p>:au     hash  author -> packed dossier
  <p>:xc:<b>, <p>:xa:<b>  lists: cases created / dossiers refreshed in index
                   bucket b (wall time / XB), popped by the clean-up
  <p>:due    zset  case_id by SLA due ms
  <p>:fu     zset  case_id by follow-up due ms
  <p>:frt    list  recent first-response times (ms)
  <p>:outbox hash  alert key -> alert json (until delivered)
]]

local XB = 6 * 3600000   -- index bucket of the clean-up lists (wall ms)
local SWEEP_ENTRIES = 4  -- clean-up list entries (one per earlier call) popped per call
local ARGS_MAX = 3000    -- arguments per multi-field command (unpack limit)
local US = '\31'

local function num(v, d)
  if v == false or v == nil or v == '' then return d end
  return tonumber(v) or d
end

local function json_list(s)
  if not s or s == false or s == '' then return {} end
  local ok, v = pcall(cjson.decode, s)
  if ok and type(v) == 'table' then return v end
  return {}
end

local function push_capped(list, item, cap)
  list[#list + 1] = item
  while #list > cap do table.remove(list, 1) end
  return list
end

-- HMGET key over a list of fields, in parts; returns name -> value|false
local function hmget_map(key, fields, out)
  out = out or {}
  for i = 1, #fields, ARGS_MAX do
    local j = math.min(i + ARGS_MAX - 1, #fields)
    local r = redis.call('HMGET', key, unpack(fields, i, j))
    for k = i, j do out[fields[k]] = r[k - i + 1] end
  end
  return out
end

-- HSET key from a flat list {f1, v1, f2, v2, ...}, in parts
local function hset_flat(key, fv)
  for i = 1, #fv, ARGS_MAX do
    local j = math.min(i + ARGS_MAX - 1, #fv)
    redis.call('HSET', key, unpack(fv, i, j))
  end
end

local function multi(cmd, key, list, pre)
  for i = 1, #list, ARGS_MAX do
    local j = math.min(i + ARGS_MAX - 1, #list)
    if pre then
      redis.call(cmd, key, pre, unpack(list, i, j))
    else
      redis.call(cmd, key, unpack(list, i, j))
    end
  end
end

local CLASS_ANGRY, CLASS_QUESTION, CLASS_HAPPY = 'angry', 'question', 'happy'

local function o_(v)
  if v == '' then return nil end
  return v
end

local S  -- the call's state, set by wc_apply

-- integer -> decimal string, memoised per call (Lua formats numbers with
-- sprintf, which costs more than the rest of building a field name)
local function nstr(n)
  local v = S.ns[n]
  if not v then v = tostring(n); S.ns[n] = v end
  return v
end


-- ---------------------------------------------------------------------
-- packed records (one hash field each; \31-separated, the free-form
-- strings last or length-prefixed so any byte may occur in them)
-- ---------------------------------------------------------------------
-- case: c t f r rf fr ar w <#a> then a .. mid
local CASE_PAT = '^([^\31]*)\31([^\31]*)\31([^\31]*)\31([^\31]*)\31([^\31]*)\31([^\31]*)\31' ..
  '([^\31]*)\31([^\31]*)\31(%d*)\31(.*)$'

local function case_enc(x)
  if type(x) == 'string' then return x end  -- created this call, not changed since
  local a = x.a
  return (x.c or '') .. US .. (x.t or '') .. US .. (x.f or '') .. US .. (x.r or '') .. US ..
    (x.rf or '') .. US .. (x.fr or '') .. US .. (x.ar or '') .. US .. (x.w or '') .. US ..
    (a and nstr(#a) or '') .. US .. (a or '') .. (x.mid or '')
end

local function case_dec(s)
  if not s then return nil end
  local c, t, f, r, rf, fr, ar, w, la, rest = string.match(s, CASE_PAT)
  if not c then return nil end
  local x = {c = c ~= '' and c or nil, t = t ~= '' and t or nil, f = f ~= '' and f or nil,
    r = r ~= '' and r or nil, rf = rf ~= '' and rf or nil, fr = fr ~= '' and fr or nil,
    ar = ar ~= '' and ar or nil, w = w ~= '' and w or nil}
  if la ~= '' then
    la = tonumber(la)
    x.a = string.sub(rest, 1, la)
    x.mid = o_(string.sub(rest, la + 1))
  else
    x.mid = o_(rest)
  end
  return x
end

-- dossier: the fields below, then the history h (free-form) last
-- fields: at lr lres cv eo eseq elast en lt lb rs erules, then h
local AU_PAT = '^([^\31]*)\31([^\31]*)\31([^\31]*)\31([^\31]*)\31([^\31]*)\31([^\31]*)\31' ..
  '([^\31]*)\31([^\31]*)\31([^\31]*)\31([^\31]*)\31([^\31]*)\31([^\31]*)\31(.*)$'

local function au_enc(x)
  return (x.at or '') .. US .. (x.lr or '') .. US .. (x.lres or '') .. US .. (x.cv or '') .. US ..
    (x.eo or '') .. US .. (x.eseq or '') .. US .. (x.elast or '') .. US .. (x.en or '') .. US ..
    (x.lt or '') .. US .. (x.lb or '') .. US .. (x.rs or '') .. US .. (x.erules or '') .. US .. (x.h or '')
end

local function au_dec(s)
  if not s then return nil end
  local at, lr, lres, cv, eo, eseq, elast, en, lt, lb, rs, erules, h = string.match(s, AU_PAT)
  if not at then return nil end
  return {at = at ~= '' and at or nil, lr = lr ~= '' and lr or nil, lres = lres ~= '' and lres or nil,
    cv = cv ~= '' and cv or nil, eo = eo ~= '' and eo or nil, eseq = eseq ~= '' and eseq or nil,
    elast = elast ~= '' and elast or nil, en = en ~= '' and en or nil, lt = lt ~= '' and lt or nil,
    lb = lb ~= '' and lb or nil, rs = rs ~= '' and rs or nil, erules = erules ~= '' and erules or nil,
    h = h ~= '' and h or nil}
end

-- ---------------------------------------------------------------------
-- per-call state: caches of cases, dossiers and cluster fields; all
-- writes collected and issued once at the end
-- ---------------------------------------------------------------------

local function case_get(cid)
  local x = S.cs[cid]
  if type(x) == 'string' then x = case_dec(x); S.cs[cid] = x end
  return x or nil
end

local function case_dirty(cid, x)
  S.cs[cid] = x
  if not S.csd[cid] then S.csd[cid] = true; S.ncsl = S.ncsl + 1; S.csl[S.ncsl] = cid end
end

local function au_load(list)
  local need, n, au = {}, 0, S.au
  for _, a in ipairs(list) do
    if au[a] == nil and not need[a] then need[a] = true; n = n + 1; need[n] = a end
  end
  if #need == 0 then return end
  local m = hmget_map(S.p .. ':au', need)
  for _, a in ipairs(need) do
    local x = au_dec(m[a])
    if x and num(x.lt, 0) + S.c.author_ttl <= S.wall then x = nil end  -- expired
    S.au[a] = x or false
  end
end

local function cs_load(list)
  local need, n, cs = {}, 0, S.cs
  for _, cid in ipairs(list) do
    if cs[cid] == nil and not need[cid] then need[cid] = true; n = n + 1; need[n] = cid end
  end
  if #need == 0 then return end
  local m = hmget_map(S.p .. ':cs', need)
  for _, cid in ipairs(need) do
    local x = case_dec(m[cid])
    if x and num(x.w, 0) + S.c.case_ttl <= S.wall then x = nil end  -- expired
    S.cs[cid] = x or false
  end
end

-- the dossier of author (created empty when absent: the caller writes it)
local function au_get(author)
  if S.au[author] == nil then au_load({author}) end
  return S.au[author] or nil
end

local function au_dirty(author, x)
  S.au[author] = x
  if not S.aud[author] then S.aud[author] = true; S.naul = S.naul + 1; S.aul[S.naul] = author end
end

-- the dossier's TTL restarts (was: PEXPIRE <p>:a:<author>)
local function au_touch(author, x)
  x.lt = S.wall_s
  if x.lb ~= S.curb_s then
    x.lb = S.curb_s
    S.nxa = S.nxa + 1; S.xa[S.nxa] = author
  end
  au_dirty(author, x)
end

local function st_incr(name, n)
  S.st[name] = (S.st[name] or 0) + n
end

-- ---------------------------------------------------------------------
-- clusters: all fields of a brand's clusters in one hash <p>:cl, field
-- names "<kind>|<topic>|<name>"
-- ---------------------------------------------------------------------
local function clv(f)
  return S.cl[f]
end

local function clset(f, v)
  v = tostring(v)
  S.cl[f] = v
  S.clw[f] = v
end

local function cl_flush()
  local fv = {}
  for f, v in pairs(S.clw) do fv[#fv + 1] = f; fv[#fv + 1] = v end
  if #fv > 0 then hset_flat(S.p .. ':cl', fv) end
  S.clw = {}
end

local function cluster_fields(c, now, ck, out)
  local wmin = math.max(1, math.floor(c.cw / 60000))
  local nowmin = math.floor(now / 60000)
  for i = 0, wmin - 1 do out[#out + 1] = ck .. 'm' .. nstr(nowmin - i) end
  local hours = math.max(1, math.ceil(c.cb / 3600000))
  local nowh = math.floor(now / 3600000)
  for i = 0, hours do out[#out + 1] = ck .. 'h' .. nstr(nowh - i) end
  for _, f in ipairs({'st', 'n', 'seq', 'last', 'cool', 'mb', 'opened', 'peak', 'days', 'tot', 'pr', 'x'}) do
    out[#out + 1] = ck .. f
  end
end

local function cluster_counts(ck, c, now)
  local wmin = math.max(1, math.floor(c.cw / 60000))
  local nowmin = math.floor(now / 60000)
  local cw = 0
  for i = 0, wmin - 1 do cw = cw + num(clv(ck .. 'm' .. nstr(nowmin - i)), 0) end
  local hours = math.max(1, math.ceil(c.cb / 3600000))
  local nowh = math.floor(now / 3600000)
  local cb = 0
  for i = 0, hours do cb = cb + num(clv(ck .. 'h' .. nstr(nowh - i)), 0) end
  return cw, cb, nowmin, nowh
end

local function cluster_prune(ck, c, nowmin, nowh, pr)
  if pr and nowmin - pr < 30 then return end
  local keep_min = nowmin - math.floor(c.cw / 60000) - 5
  local keep_h = nowh - math.ceil(c.cb / 3600000) - 2
  if not S.clkeys then
    cl_flush()  -- the hash must hold this call's increments before they may be pruned
    S.clkeys = redis.call('HKEYS', S.p .. ':cl')
  end
  local del, n = {}, #ck
  for _, f in ipairs(S.clkeys) do
    if string.sub(f, 1, n) == ck then
      local t, v = string.sub(f, n + 1, n + 1), tonumber(string.sub(f, n + 2))
      if v and ((t == 'm' and v < keep_min) or (t == 'h' and v < keep_h)) then
        del[#del + 1] = f
        S.cl[f] = nil
        S.clw[f] = nil
      end
    end
  end
  if #del > 0 then multi('HDEL', S.p .. ':cl', del) end
  clset(ck .. 'pr', nowmin)
end

local function top_phrases(ck, n)
  cl_flush()
  local h = redis.call('HGETALL', S.p .. ':cl')
  local pre = ck .. 'p|'
  local lp = #pre
  local arr, names = {}, {}
  for i = 1, #h, 2 do
    if string.sub(h[i], 1, lp) == pre then
      arr[#arr + 1] = {string.sub(h[i], lp + 1), tonumber(h[i + 1])}
      names[#names + 1] = h[i]
    end
  end
  table.sort(arr, function(a, b) if a[2] ~= b[2] then return a[2] > b[2] end return a[1] < b[1] end)
  local out = {}
  for i = 1, math.min(n, #arr) do out[i] = arr[i][1] end
  if #arr > 500 then
    multi('HDEL', S.p .. ':cl', names)
    for _, f in ipairs(names) do S.cl[f] = nil end
  end
  return out
end

local function open_list()
  local v = clv('open')
  local out = {}
  if v then for m in string.gmatch(v, '[^\t]+') do out[#out + 1] = m end end
  return out
end

local function open_set(m, on)
  local l, out, found = open_list(), {}, false
  for _, x in ipairs(l) do
    if x == m then found = true; if on then out[#out + 1] = x end
    else out[#out + 1] = x end
  end
  if on and not found then out[#out + 1] = m end
  clset('open', table.concat(out, '\t'))
end

local function cluster_eval(brand, c, kind, topic, now, first, alerts)
  local ck = kind .. '|' .. topic .. '|'
  local cw, cb, nowmin, nowh = cluster_counts(ck, c, now)
  local st, nopen, seq, last, cool = clv(ck .. 'st'), num(clv(ck .. 'n'), 0), num(clv(ck .. 'seq'), 0),
    num(clv(ck .. 'last'), 0), num(clv(ck .. 'cool'), 0)
  local tot, pr = num(clv(ck .. 'tot'), 0), clv(ck .. 'pr') and tonumber(clv(ck .. 'pr')) or nil
  local s_mb, s_opened, s_peak, s_days = clv(ck .. 'mb'), clv(ck .. 'opened'), clv(ck .. 'peak'), clv(ck .. 'days')
  cluster_prune(ck, c, nowmin, nowh, pr)
  local span = math.min(c.cb, now - first) - c.cw
  local base = math.max(0, cb - cw)
  local base_pw = 0
  if span > 0 then base_pw = base * c.cw / span end
  local thr = c.ck * math.max(base_pw, c.cfloor)
  local aid_base = 'cl:' .. brand .. ':' .. kind .. ':' .. topic
  local function emit(ev, aid, sq, extra)
    local ex = json_list(clv(ck .. 'x'))
    local examples = {}
    for i = 1, math.min(5, #ex) do examples[i] = ex[i] end
    local a = {
      type = (kind == CLASS_QUESTION) and 'faq_candidate' or 'complaint_cluster',
      event = ev, alert_id = aid, seq = sq, brand = brand, kind = kind, topic = topic,
      count_window = cw, window_s = c.cw / 1000, baseline_per_window = math.floor(base_pw * 100 + 0.5) / 100,
      threshold = math.floor(thr * 100 + 0.5) / 100, event_time_ms = now,
      examples = examples,
      top_phrases = top_phrases(ck, 5),
    }
    for k, v in pairs(extra) do a[k] = v end
    alerts[#alerts + 1] = {aid .. '#' .. sq, 'clusters', cjson.encode(a)}
  end
  if st ~= 'open' then
    if span < c.cwarm or now < cool then return end
    if cw >= c.cmin and cw >= thr then
      nopen = nopen + 1
      local aid = aid_base .. ':' .. nopen
      local day = math.floor(now / 86400000)
      local days = json_list(s_days)
      local kept = {}
      for _, d in ipairs(days) do if day - d < 7 and d ~= day then kept[#kept + 1] = d end end
      kept[#kept + 1] = day
      clset(ck .. 'st', 'open'); clset(ck .. 'n', nopen); clset(ck .. 'seq', 1); clset(ck .. 'last', cw)
      clset(ck .. 'opened', now); clset(ck .. 'peak', cw); clset(ck .. 'mb', tot - cw)
      clset(ck .. 'days', cjson.encode(kept)); clset(ck .. 'lu', now)
      open_set(kind .. '|' .. topic, true)
      emit('opened', aid, 1, {members = cw, recurring = #kept >= 2, recurring_days = #kept})
    end
    return
  end
  local aid = aid_base .. ':' .. nopen
  local peak = math.max(num(s_peak, 0), cw)
  local members = tot - num(s_mb, 0)
  if cw <= math.max(c.cmin / 2, c.ckres * math.max(base_pw, c.cfloor)) then
    seq = seq + 1
    clset(ck .. 'st', 'closed'); clset(ck .. 'seq', seq); clset(ck .. 'cool', now + c.ccool)
    clset(ck .. 'peak', peak)
    open_set(kind .. '|' .. topic, false)
    emit('resolved', aid, seq, {members = members, peak_window = peak,
      duration_s = math.floor((now - num(s_opened, now)) / 1000)})
  elseif cw >= last * 1.5 and cw >= last + 5 then
    seq = seq + 1
    clset(ck .. 'seq', seq); clset(ck .. 'last', cw); clset(ck .. 'peak', peak); clset(ck .. 'lu', now)
    emit('updated', aid, seq, {members = members, peak_window = peak})
  elseif peak > num(s_peak, 0) then
    clset(ck .. 'peak', peak)
  end
end

-- ---------------------------------------------------------------------
-- escalations (boomerang), per author dossier
-- ---------------------------------------------------------------------
-- Author history: "ts cls id" entries separated by newlines, newest first,
-- at most 10 (newlines in ids are replaced).
local function hist_push(h, mid, cls, ts)
  local e = ts .. ' ' .. cls .. ' ' ..
    (string.find(mid, '\n', 1, true) and string.gsub(mid, '\n', ' ') or mid)
  if not h or h == false or h == '' then return e end
  -- 10 entries need 9 newlines after 9 entries of >= 8 bytes ("<ts> <class> "):
  -- a shorter history is kept whole without looking for them
  if #h <= 80 then return e .. '\n' .. h end
  local pos, cnt = 0, 1
  while true do
    local nx = string.find(h, '\n', pos + 1, true)
    if not nx then return e .. '\n' .. h end
    cnt = cnt + 1
    if cnt >= 10 then return e .. '\n' .. string.sub(h, 1, nx - 1) end
    pos = nx
  end
end

local function hist_decode(h)
  local out = {}
  if not h or h == false then return out end
  for line in string.gmatch(h, '[^\n]+') do
    local ts, cls, id = string.match(line, '^(%d+) (%S+) (.*)$')
    if ts then out[#out + 1] = {id = id, class = cls, ts_ms = tonumber(ts)} end
  end
  -- oldest first
  local r = {}
  for i = #out, 1, -1 do r[#r + 1] = out[i] end
  return r
end

local function escalate(brand, c, author, now, trig, info, alerts)
  local d = au_get(author) or {}
  local rules = json_list(d.erules)
  local open = d.eo and now - num(d.elast, 0) <= c.esc_ttl
  if not open then rules = {} end
  local seen = {}
  for _, r in ipairs(rules) do seen[r.rule] = r end
  local grew = false
  for _, t in ipairs(trig) do
    local prev = seen[t.rule]
    if not prev then
      rules[#rules + 1] = t; seen[t.rule] = t; grew = true
    elseif t.rule == 'amplified' and num(t.reshares, 0) >= 2 * num(prev.reshares, 0) then
      for k, v in pairs(t) do prev[k] = v end
      grew = true
    end
  end
  if open and not grew then
    d.elast = tostring(now)
    au_dirty(author, d)
    return
  end
  local score, parts = 0, {}
  for _, r in ipairs(rules) do
    local w = 0
    if r.rule == 'returned_after_response' then w = 40
    elseif r.rule == 'repeated' then w = math.min(30, 10 * (num(r.count, 1) - 1))
    elseif r.rule == 'amplified' then w = math.min(50, math.floor(10 * math.log10(math.max(num(r.reach, 1), 1)) + 0.5))
    end
    parts[r.rule] = w
    score = score + w
  end
  score = math.min(100, score)
  local seq, ev
  if open then
    seq, ev = num(d.eseq, 1) + 1, 'updated'
  else
    d.en = tostring(num(d.en, 0) + 1)
    seq, ev = 1, 'opened'
  end
  local id = 'esc:' .. brand .. ':' .. author .. ':' .. d.en
  d.eo, d.eseq, d.elast, d.erules = '1', tostring(seq), tostring(now), cjson.encode(rules)
  au_touch(author, d)
  local a = {
    type = 'escalation', event = ev, alert_id = id, seq = seq, brand = brand, author = author,
    score = score, score_parts = parts, reasons = rules, event_time_ms = now,
    trigger_case_id = info.case_id, trigger_mention_id = info.mid,
    story = {mentions = hist_decode(d.h), responses = json_list(d.rs)},
  }
  alerts[#alerts + 1] = {id .. '#' .. seq, 'escalations', cjson.encode(a)}
end

local function on_mention(brand, c, A, k, alerts)
  -- A[k..k+9] = "m" cid author cls ts followers reshares due mid dup_of
  -- (numbers as decimal strings: stored as they are, parsed only where
  -- arithmetic needs them)
  -- (tonumber is ~2 strtod calls: numbers are parsed only on the paths
  -- that compute with them)
  local cid, author, cls = A[k + 1], A[k + 2], A[k + 3]
  local ts_s = A[k + 4]
  local f_s, r_s = A[k + 5], A[k + 6]
  local mid, dup = A[k + 8], A[k + 9]
  if dup and dup ~= '' then
    local ts, followers = tonumber(ts_s), num(f_s, 0)
    local cs = case_get(dup)
    if not cs or not cs.a then return end
    local rsh = num(cs.r, 0) + 1
    local rf = num(cs.rf, 0) + followers
    cs.r, cs.rf = tostring(rsh), tostring(rf)
    case_dirty(dup, cs)
    if cs.c == CLASS_ANGRY and num(cs.f, 0) >= c.inf_f and rsh >= c.amp_r then
      escalate(brand, c, cs.a, ts, {{rule = 'amplified', reshares = rsh, followers = num(cs.f, 0),
        reach = num(cs.f, 0) + rf, case_id = dup}}, {case_id = dup, mid = cs.mid}, alerts)
    end
    return
  end
  if cls == CLASS_HAPPY then
    local d = au_get(author)
    if d and d.lr and d.at and d.cv ~= d.lr then
      st_incr('conversions', 1)
      d.cv = d.lr
      au_dirty(author, d)
    end
    return
  end
  if cls ~= CLASS_ANGRY and cls ~= CLASS_QUESTION then return end
  -- a case id is created once (its mention's offset is applied once): a
  -- new record, not read first
  -- kept as its packed record (case_enc of {a, c, t, f, r, mid, w}); decoded
  -- by case_get only if something of this call reads it again
  case_dirty(cid, cls .. US .. ts_s .. US .. f_s .. US .. r_s .. US .. US .. US .. US .. S.wall_s .. US ..
    nstr(#author) .. US .. author .. mid)
  S.nxc = S.nxc + 1; S.xc[S.nxc] = cid
  -- due > 0 (a decimal integer from the daemon: "0", "-..." or positive)
  local due = A[k + 7]
  if due ~= '0' and due ~= '' and string.byte(due, 1) ~= 45 then S.dz[cid] = due end
  local d = au_get(author) or {}
  local h = hist_push(d.h, mid, cls, ts_s)
  if cls ~= CLASS_ANGRY then
    d.h = h
    au_touch(author, d)
    return
  end
  local ts, followers, reshares = tonumber(ts_s), num(f_s, 0), num(r_s, 0)
  -- angry timestamps within the repeat window, newest first, at most 20
  local kept, n = {ts_s}, 1
  if d.at then
    for t in string.gmatch(d.at, '%d+') do
      local tn = tonumber(t)
      if n < 20 and ts - tn <= c.rep_w and tn <= ts then n = n + 1; kept[n] = t end
    end
  end
  d.h, d.at = h, table.concat(kept, ' ')
  au_touch(author, d)
  local trig = {}
  local lr = num(d.lr, 0)
  if lr > 0 and ts > lr and ts - lr <= c.ret_w then
    trig[#trig + 1] = {rule = 'returned_after_response', resolved = d.lres == '1',
      since_response_s = math.floor((ts - lr) / 1000)}
  end
  if n >= c.rep_n then
    trig[#trig + 1] = {rule = 'repeated', count = n, window_s = c.rep_w / 1000}
  end
  if followers >= c.inf_f and reshares >= c.amp_r then
    trig[#trig + 1] = {rule = 'amplified', reshares = reshares, followers = followers,
      reach = followers, case_id = cid}
  end
  if #trig > 0 then escalate(brand, c, author, ts, trig, {case_id = cid, mid = mid}, alerts) end
end

local function on_response(brand, c, A, k)
  -- A[k..k+4] = "r" cid agent ts resolved
  local cid, agent, ts, resolved = A[k + 1], A[k + 2], num(A[k + 3], 0), num(A[k + 4], 0)
  local ts_s = A[k + 3]
  st_incr('responses', 1)
  local cs = case_get(cid)
  if not cs or not cs.a then return end
  if not cs.fr then
    cs.fr = ts_s
    case_dirty(cid, cs)
    S.frt[#S.frt + 1] = math.max(0, ts - num(cs.t, ts))
    S.dz[cid] = false
  end
  local author = cs.a
  local d = au_get(author) or {}
  d.lr, d.lres = ts_s, resolved == 1 and '1' or tostring(resolved)
  local rs = json_list(d.rs)
  push_capped(rs, {case_id = cid, agent = agent, ts_ms = ts, resolved = resolved == 1}, 5)
  d.rs = cjson.encode(rs)
  au_touch(author, d)
  if cs.c == CLASS_ANGRY and c.fu_w > 0 then
    S.fz[cid] = ts + c.fu_w
  end
end

-- pending sorted-set changes: member -> score, or false = remove
local function zflush(key, z)
  local add, rem, na = {}, {}, 0
  for m, v in pairs(z) do
    if v then na = na + 2; add[na - 1] = v; add[na] = m else rem[#rem + 1] = m end
  end
  if #add > 0 then multi('ZADD', key, add) end
  if #rem > 0 then multi('ZREM', key, rem) end
end

local function sla_sweep(brand, c, now, alerts)
  local p = S.p
  local due = redis.call('ZRANGEBYSCORE', p .. ':due', '-inf', now + c.sla_risk, 'WITHSCORES', 'LIMIT', 0, 1000)
  local fu = redis.call('ZRANGEBYSCORE', p .. ':fu', '-inf', now, 'WITHSCORES', 'LIMIT', 0, 1000)
  local need = {}
  for i = 1, #due, 2 do need[#need + 1] = due[i] end
  for i = 1, #fu, 2 do need[#need + 1] = fu[i] end
  cs_load(need)
  local zrem = {}
  for i = 1, #due, 2 do
    local cid, d = due[i], tonumber(due[i + 1])
    local cs = case_get(cid) or {}
    local ev
    if d <= now then
      ev = 'breached'
      zrem[#zrem + 1] = cid
    elseif not cs.ar then
      ev = 'at_risk'
      cs.ar = '1'
      if not cs.w then cs.w = S.wall_s end
      case_dirty(cid, cs)
    end
    if ev then
      local a = {type = 'sla', event = ev, alert_id = 'sla:' .. brand .. ':' .. cid, brand = brand,
        case_id = cid, mention_id = cs.mid, class = cs.c, author = cs.a, due_ms = d,
        created_ms = num(cs.t, 0), event_time_ms = now}
      alerts[#alerts + 1] = {a.alert_id .. '#' .. ev, 'sla', cjson.encode(a)}
    end
  end
  if #zrem > 0 then multi('ZREM', p .. ':due', zrem) end
  local frem = {}
  for i = 1, #fu, 2 do
    local cid = fu[i]
    frem[#frem + 1] = cid
    local cs = case_get(cid) or {}
    local a = {type = 'sla', event = 'followup_due', alert_id = 'fu:' .. brand .. ':' .. cid, brand = brand,
      case_id = cid, mention_id = cs.mid, author = cs.a, due_ms = tonumber(fu[i + 1]), event_time_ms = now}
    alerts[#alerts + 1] = {a.alert_id .. '#followup', 'sla', cjson.encode(a)}
  end
  if #frem > 0 then multi('ZREM', p .. ':fu', frem) end
end

-- Lazy clean-up of expired cases / dossiers: the index list of a bucket
-- holds one json array of ids per call that created (refreshed) records
-- in it; once the whole bucket is past the TTL, pop a few entries per call
-- and delete the records that are still expired (a dossier refreshed since
-- is listed in a later bucket).
local function cleanup(meta, wm_out, cur_name, ttl, hkey, tfield, dec)
  local cur = num(meta[cur_name], nil)
  local curb = S.curb
  if not cur or cur > curb then wm_out[cur_name] = curb; return end
  local entries, steps = SWEEP_ENTRIES, 0
  while cur < curb and (cur + 1) * XB + ttl <= S.wall and entries > 0 and steps < 8 do
    steps = steps + 1
    local got = redis.call('LPOP', S.p .. ':' .. cur_name .. ':' .. cur, entries)
    if not got or #got < entries then cur = cur + 1 end
    if got and #got > 0 then
      entries = entries - #got
      local ids, seen = {}, {}
      for _, e in ipairs(got) do
        for _, id in ipairs(json_list(e)) do
          if not seen[id] then seen[id] = true; ids[#ids + 1] = id end
        end
      end
      local m = hmget_map(hkey, ids)
      local del = {}
      for _, id in ipairs(ids) do
        local x = dec(m[id])
        if m[id] and (not x or num(x[tfield], 0) + ttl <= S.wall) then del[#del + 1] = id end
      end
      if #del > 0 then multi('HDEL', hkey, del) end
    end
  end
  wm_out[cur_name] = cur
end

local ST_NAMES = {'happy', 'neutral', 'angry', 'question', 'duplicates', 'responses', 'conversions'}

local function wc_apply(keys, args)
  local p = keys[1]
  local wall = tonumber(args[1])
  local c = cjson.decode(args[2])
  if args[3] ~= 'w2' then return redis.error_reply('wc_apply: unknown payload format') end
  local brand = args[4]
  -- the payload: flat arguments (pipeline/window.h); per chunk its header
  -- and the argument ranges of its clusters [cs, es) and events [es, ee)
  local chunks, pos, na = {}, 5, #args
  while pos <= na do
    local ch = {p = args[pos], lo = tonumber(args[pos + 1]), hi = tonumber(args[pos + 2]),
      mn = tonumber(args[pos + 3]), mx = tonumber(args[pos + 4]), sc = pos + 5, cs = pos + 12}
    ch.es = ch.cs + tonumber(args[pos + 10])
    ch.ee = ch.es + tonumber(args[pos + 11])
    chunks[#chunks + 1] = ch
    pos = ch.ee
  end
  -- pass 1: idempotence check, nothing written yet
  local mf = {'first', 'wm', 'wall', 'xc', 'xa'}
  for _, n in ipairs(ST_NAMES) do mf[#mf + 1] = 's.' .. n end
  for _, ch in ipairs(chunks) do mf[#mf + 1] = ch.p end
  local meta = hmget_map(p .. ':meta', mf)
  local applied = {}
  for i, ch in ipairs(chunks) do
    local ap = num(meta[ch.p], -1)
    if ch.hi <= ap then
      applied[i] = false
    elseif ch.lo <= ap then
      return {'split', ch.p, tostring(ap)}
    else
      applied[i] = true
    end
  end
  S = {p = p, c = c, wall = wall, wall_s = tostring(wall), curb = math.floor(wall / XB),
       cs = {}, csd = {}, csl = {}, au = {}, aud = {}, aul = {}, cl = {}, clw = {},
       st = {}, dz = {}, fz = {}, frt = {}, xc = {}, xa = {}, ns = {},
       ncsl = 0, naul = 0, nxc = 0, nxa = 0}
  S.curb_s = tostring(S.curb)
  local wm_out = {}
  cleanup(meta, wm_out, 'xc', c.case_ttl, p .. ':cs', 'w', case_dec)
  cleanup(meta, wm_out, 'xa', c.author_ttl, p .. ':au', 'lt', au_dec)

  local first, wm, wmwall = num(meta.first, nil), num(meta.wm, 0), num(meta.wall, wall)
  -- pass 2: aggregate the chunks; collect what the events will read
  local inc, exs, tl, touched = {}, {}, {}, {}
  local cids, authors, ncids, nauthors = {}, {}, 0, 0
  for i, ch in ipairs(chunks) do
    if applied[i] then
      wm_out[ch.p] = ch.hi
      if ch.mn and ch.mn > 0 and (not first or ch.mn < first) then first = ch.mn end
      if ch.mx and ch.mx > wm then wm = ch.mx; wmwall = wall end
      for j = 1, 5 do
        local v = tonumber(args[ch.sc + j - 1])
        if v and v > 0 then st_incr(ST_NAMES[j], v) end
      end
      local k = ch.cs
      while k < ch.es do
        -- kind topic minute count example_id nphrases phrase...
        local kind, topic, minute, cnt = args[k], args[k + 1], args[k + 2], tonumber(args[k + 3])
        local ck = kind .. '|' .. topic .. '|'
        local f = ck .. 'm' .. minute
        inc[f] = (inc[f] or 0) + cnt
        f = ck .. 'h' .. nstr(math.floor(tonumber(minute) / 60))
        inc[f] = (inc[f] or 0) + cnt
        f = ck .. 'tot'
        inc[f] = (inc[f] or 0) + cnt
        local tk = kind .. '|' .. topic
        if args[k + 4] ~= '' then
          exs[tk] = exs[tk] or {}
          table.insert(exs[tk], args[k + 4])
        end
        local nph = tonumber(args[k + 5])
        for j = k + 6, k + 5 + nph do
          local f = ck .. 'p|' .. args[j]
          inc[f] = (inc[f] or 0) + cnt
        end
        if not touched[tk] then touched[tk] = true; tl[#tl + 1] = {kind, topic} end
        k = k + 6 + nph
      end
      k = ch.es
      while k < ch.ee do
        if args[k] == 'm' then
          local cls = args[k + 3]
          if args[k + 9] ~= '' then
            ncids = ncids + 1; cids[ncids] = args[k + 9]
          elseif cls == CLASS_HAPPY or cls == CLASS_ANGRY or cls == CLASS_QUESTION then
            nauthors = nauthors + 1; authors[nauthors] = args[k + 2]
          end
          k = k + 10
        else
          ncids = ncids + 1; cids[ncids] = args[k + 1]
          k = k + 5
        end
      end
    end
  end
  -- one HMGET of the cases, one of the dossiers (event authors and the
  -- authors of the cases the events refer to)
  cs_load(cids)
  for _, cid in ipairs(cids) do
    local x = S.cs[cid]
    if x and x.a then nauthors = nauthors + 1; authors[nauthors] = x.a end
  end
  au_load(authors)
  -- the events, in order
  local alerts = {}
  for i, ch in ipairs(chunks) do
    if applied[i] then
      local k = ch.es
      while k < ch.ee do
        if args[k] == 'm' then
          on_mention(brand, c, args, k, alerts)
          k = k + 10
        else
          on_response(brand, c, args, k)
          k = k + 5
        end
      end
    end
  end
  if not first then first = wm end
  -- clusters: one HMGET of every field the increments and the evaluation need
  local fields = {'open'}
  for f in pairs(inc) do fields[#fields + 1] = f end
  if wm > 0 then
    for _, t in ipairs(tl) do cluster_fields(c, wm, t[1] .. '|' .. t[2] .. '|', fields) end
  end
  for _, t in ipairs(tl) do fields[#fields + 1] = t[1] .. '|' .. t[2] .. '|x' end
  hmget_map(p .. ':cl', fields, S.cl)
  for f, n in pairs(inc) do clset(f, num(S.cl[f], 0) + n) end
  for tk, list in pairs(exs) do
    local old = json_list(S.cl[tk .. '|x'])
    local x = {}
    for j = #list, 1, -1 do if #x < 5 then x[#x + 1] = list[j] end end
    for _, v in ipairs(old) do if #x < 5 then x[#x + 1] = v end end
    clset(tk .. '|x', cjson.encode(x))
  end
  if wm > 0 then
    local more = {}
    for _, m in ipairs(open_list()) do
      if not touched[m] then
        local sep = string.find(m, '|', 1, true)
        tl[#tl + 1] = {string.sub(m, 1, sep - 1), string.sub(m, sep + 1)}
        cluster_fields(c, wm, m .. '|', more)
      end
    end
    if #more > 0 then hmget_map(p .. ':cl', more, S.cl) end
    -- the sorted sets as the events left them, before the sweep reads them
    zflush(p .. ':due', S.dz); S.dz = {}
    zflush(p .. ':fu', S.fz); S.fz = {}
    for _, t in ipairs(tl) do cluster_eval(brand, c, t[1], t[2], wm, first, alerts) end
    -- SLA clock: event time, advanced by wall time while the brand is idle
    sla_sweep(brand, c, wm + math.max(0, wall - wmwall), alerts)
  end
  -- write back
  zflush(p .. ':due', S.dz)
  zflush(p .. ':fu', S.fz)
  cl_flush()
  local fv = {}
  local n = 0
  for _, cid in ipairs(S.csl) do n = n + 2; fv[n - 1] = cid; fv[n] = case_enc(S.cs[cid]) end
  if #fv > 0 then hset_flat(p .. ':cs', fv) end
  fv = {}
  n = 0
  for _, a in ipairs(S.aul) do n = n + 2; fv[n - 1] = a; fv[n] = au_enc(S.au[a]) end
  if #fv > 0 then hset_flat(p .. ':au', fv) end
  if #S.xc > 0 then redis.call('RPUSH', p .. ':xc:' .. S.curb, cjson.encode(S.xc)) end
  if #S.xa > 0 then redis.call('RPUSH', p .. ':xa:' .. S.curb, cjson.encode(S.xa)) end
  if #S.frt > 0 then
    local v = {}
    for i, x in ipairs(S.frt) do v[i] = x end
    multi('LPUSH', p .. ':frt', v)
    redis.call('LTRIM', p .. ':frt', 0, 999)
  end
  wm_out.first, wm_out.wm, wm_out.wall = first, wm, wmwall
  for n, v in pairs(S.st) do wm_out['s.' .. n] = num(meta['s.' .. n], 0) + v end
  fv = {}
  for f, v in pairs(wm_out) do fv[#fv + 1] = f; fv[#fv + 1] = v end
  hset_flat(p .. ':meta', fv)
  local out = {'ok', #alerts}
  fv = {}
  for _, a in ipairs(alerts) do
    fv[#fv + 1] = a[1]; fv[#fv + 1] = a[3]
    out[#out + 1] = a[1]; out[#out + 1] = a[2]; out[#out + 1] = a[3]
  end
  if #fv > 0 then hset_flat(p .. ':outbox', fv) end
  S = nil
  return out
end

local function wc_ack(keys, args)
  if #args == 0 then return 0 end
  return redis.call('HDEL', keys[1] .. ':outbox', unpack(args))
end

local function wc_stats(keys, args)
  local p = keys[1]
  local wall, brand = tonumber(args[1]), args[2]
  local f = {'wm'}
  for i, n in ipairs(ST_NAMES) do f[i + 1] = 's.' .. n end
  local h = redis.call('HMGET', p .. ':meta', unpack(f))
  redis.call('HDEL', p .. ':meta', unpack(f, 2))
  local st = {}
  for i, n in ipairs(ST_NAMES) do st[n] = tonumber(h[i + 1]) end
  local frt = redis.call('LRANGE', p .. ':frt', 0, -1)
  local v = {}
  for i, x in ipairs(frt) do v[i] = tonumber(x) end
  table.sort(v)
  local function q(fr)
    if #v == 0 then return cjson.null end
    return math.floor(v[math.max(1, math.ceil(fr * #v))] / 1000 + 0.5)
  end
  local total = 0
  for _, n in ipairs({'happy', 'neutral', 'angry', 'question'}) do total = total + (st[n] or 0) end
  local ratio = {}
  for _, n in ipairs({'happy', 'neutral', 'angry', 'question'}) do
    ratio[n] = total > 0 and math.floor((st[n] or 0) * 1000 / total + 0.5) / 1000 or 0
  end
  local open = redis.call('HGET', p .. ':cl', 'open')
  local nopen = 0
  if open then for _ in string.gmatch(open, '[^\t]+') do nopen = nopen + 1 end end
  local out = {
    type = 'stats', brand = brand, wall_ms = wall, event_time_ms = num(h[1], 0),
    mentions = total, classes = {happy = st.happy or 0, neutral = st.neutral or 0,
      angry = st.angry or 0, question = st.question or 0},
    class_ratio = ratio, duplicates = st.duplicates or 0, responses = st.responses or 0,
    conversions = st.conversions or 0,
    first_response_s = {median = q(0.5), p90 = q(0.9), samples = #v},
    clusters_open = nopen,
    sla_open = redis.call('ZCARD', p .. ':due'),
  }
  return cjson.encode(out)
end

redis.register_function('wc_apply', wc_apply)
redis.register_function('wc_ack', wc_ack)
redis.register_function('wc_stats', wc_stats)
