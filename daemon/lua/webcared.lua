#!lua name=webcared
--[[
webcared.lua - Redis Functions library of webcared's windows (issue 5).

Loaded with FUNCTION LOAD REPLACE by the daemon at connect and again when a
call fails with "Function not found" (FUNCTION FLUSH, a fresh replica).

Every key of a brand shares the hash tag {brand}: KEYS[1] is the prefix
"wc:{brand}" and every key the functions touch is KEYS[1] .. ":<suffix>", so
one call stays in one Redis Cluster slot.

  wc_apply  KEYS[1]  ARGV: wall_ms, config json, payload json, brand
      Applies one flush of the in-process aggregation of one brand. The
      payload holds chunks, one per input (topic, partition) with the lowest
      and highest Kafka offset it covers. Idempotence: the highest applied
      offset per chunk key is kept in <p>:applied; a chunk whose highest
      offset is already applied is skipped, a chunk that straddles it makes
      the whole call return {"split", chunk key, applied offset} without
      changing anything (the daemon drops the applied part and calls again).
      Then evaluates clusters, escalations, SLA and follow-ups and returns
      {"ok", n, key1, kind1, json1, ...} for new alert events, which are also
      kept in <p>:outbox until the daemon acknowledges their delivery.
  wc_ack    KEYS[1]  ARGV: outbox keys...   delete delivered alerts
  wc_stats  KEYS[1]  ARGV: wall_ms, brand, config json -> stats json (resets
      the interval counters)

Key layout (<p> = wc:{brand}), documented in docs/WINDOWS.md:
  <p>:applied        hash chunk key ("m<partition>"/"r<partition>") -> offset
  <p>:meta           hash first (first event ms), wm (max event ms), wall
  <p>:cl:<kind>:<topic>   hash m<minute> / h<hour> counts, tot, state fields
  <p>:clx:<kind>:<topic>  list of recent example mention ids
  <p>:clp:<kind>:<topic>  hash phrase -> count
  <p>:open           set of open clusters "<kind>|<topic>"
  <p>:case:<case_id> hash a(author) c(class) t f r rf mid fr ar   (TTL)
  <p>:a:<author>     hash per author (dossier): at lr lres h rs esc ...  (TTL)
  <p>:due            zset case_id by SLA due ms
  <p>:fu             zset case_id by follow-up due ms
  <p>:frt            list of recent first-response times (ms)
  <p>:st             hash interval counters for webcare.stats
  <p>:outbox         hash alert key -> alert json (until delivered)
]]

local function num(v, d)
  if v == false or v == nil then return d end
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

local CLASS_ANGRY, CLASS_QUESTION, CLASS_HAPPY = 'angry', 'question', 'happy'

-- ---------------------------------------------------------------------
-- clusters
-- ---------------------------------------------------------------------
local function cluster_counts(key, c, now)
  local wmin = math.max(1, math.floor(c.cw / 60000))
  local nowmin = math.floor(now / 60000)
  local f = {}
  for i = 0, wmin - 1 do f[#f + 1] = 'm' .. (nowmin - i) end
  local cw = 0
  for _, v in ipairs(redis.call('HMGET', key, unpack(f))) do cw = cw + num(v, 0) end
  local hours = math.max(1, math.ceil(c.cb / 3600000))
  local nowh = math.floor(now / 3600000)
  local hf = {}
  for i = 0, hours do hf[#hf + 1] = 'h' .. (nowh - i) end
  local cb = 0
  for _, v in ipairs(redis.call('HMGET', key, unpack(hf))) do cb = cb + num(v, 0) end
  return cw, cb, nowmin, nowh
end

local function cluster_prune(key, c, nowmin, nowh, pr)
  if pr and nowmin - pr < 30 then return end
  local keep_min = nowmin - math.floor(c.cw / 60000) - 5
  local keep_h = nowh - math.ceil(c.cb / 3600000) - 2
  local names = redis.call('HKEYS', key)
  local del = {}
  for _, n in ipairs(names) do
    local t, v = string.sub(n, 1, 1), tonumber(string.sub(n, 2))
    if v and ((t == 'm' and v < keep_min) or (t == 'h' and v < keep_h)) then del[#del + 1] = n end
  end
  for i = 1, #del, 500 do
    redis.call('HDEL', key, unpack(del, i, math.min(i + 499, #del)))
  end
  redis.call('HSET', key, 'pr', nowmin)
end

local function top_phrases(p, kind, topic, n)
  local h = redis.call('HGETALL', p .. ':clp:' .. kind .. ':' .. topic)
  local arr = {}
  for i = 1, #h, 2 do arr[#arr + 1] = {h[i], tonumber(h[i + 1])} end
  table.sort(arr, function(a, b) if a[2] ~= b[2] then return a[2] > b[2] end return a[1] < b[1] end)
  local out = {}
  for i = 1, math.min(n, #arr) do out[i] = arr[i][1] end
  if #arr > 500 then redis.call('DEL', p .. ':clp:' .. kind .. ':' .. topic) end
  return out
end

local function cluster_eval(p, brand, c, kind, topic, now, first, alerts)
  local key = p .. ':cl:' .. kind .. ':' .. topic
  local cw, cb, nowmin, nowh = cluster_counts(key, c, now)
  local s = redis.call('HMGET', key, 'st', 'n', 'seq', 'last', 'cool', 'mb', 'opened', 'peak', 'days', 'tot', 'pr', 'lu')
  local st, nopen, seq, last, cool = s[1], num(s[2], 0), num(s[3], 0), num(s[4], 0), num(s[5], 0)
  local tot, pr = num(s[10], 0), s[11] and tonumber(s[11]) or nil
  cluster_prune(key, c, nowmin, nowh, pr)
  local span = math.min(c.cb, now - first) - c.cw
  local base = math.max(0, cb - cw)
  local base_pw = 0
  if span > 0 then base_pw = base * c.cw / span end
  local thr = c.ck * math.max(base_pw, c.cfloor)
  local aid_base = 'cl:' .. brand .. ':' .. kind .. ':' .. topic
  local function emit(ev, aid, sq, extra)
    local a = {
      type = (kind == CLASS_QUESTION) and 'faq_candidate' or 'complaint_cluster',
      event = ev, alert_id = aid, seq = sq, brand = brand, kind = kind, topic = topic,
      count_window = cw, window_s = c.cw / 1000, baseline_per_window = math.floor(base_pw * 100 + 0.5) / 100,
      threshold = math.floor(thr * 100 + 0.5) / 100, event_time_ms = now,
      examples = redis.call('LRANGE', p .. ':clx:' .. kind .. ':' .. topic, 0, 4),
      top_phrases = top_phrases(p, kind, topic, 5),
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
      local days = json_list(s[9])
      local kept = {}
      for _, d in ipairs(days) do if day - d < 7 and d ~= day then kept[#kept + 1] = d end end
      kept[#kept + 1] = day
      redis.call('HSET', key, 'st', 'open', 'n', nopen, 'seq', 1, 'last', cw, 'opened', now,
        'peak', cw, 'mb', tot - cw, 'days', cjson.encode(kept), 'lu', now)
      redis.call('SADD', p .. ':open', kind .. '|' .. topic)
      emit('opened', aid, 1, {members = cw, recurring = #kept >= 2, recurring_days = #kept})
    end
    return
  end
  local aid = aid_base .. ':' .. nopen
  local peak = math.max(num(s[8], 0), cw)
  local members = tot - num(s[6], 0)
  if cw <= math.max(c.cmin / 2, c.ckres * math.max(base_pw, c.cfloor)) then
    seq = seq + 1
    redis.call('HSET', key, 'st', 'closed', 'seq', seq, 'cool', now + c.ccool, 'peak', peak)
    redis.call('SREM', p .. ':open', kind .. '|' .. topic)
    emit('resolved', aid, seq, {members = members, peak_window = peak,
      duration_s = math.floor((now - num(s[7], now)) / 1000)})
  elseif cw >= last * 1.5 and cw >= last + 5 then
    seq = seq + 1
    redis.call('HSET', key, 'seq', seq, 'last', cw, 'peak', peak, 'lu', now)
    emit('updated', aid, seq, {members = members, peak_window = peak})
  elseif peak > num(s[8], 0) then
    redis.call('HSET', key, 'peak', peak)
  end
end

-- ---------------------------------------------------------------------
-- escalations (boomerang), per author dossier
-- ---------------------------------------------------------------------
-- Author history: "ts cls id" entries separated by newlines, newest first,
-- at most 10 (ids never contain newlines: the decoder rejects control
-- characters in ids? not guaranteed, so newlines in ids are replaced).
local function hist_push(h, mid, cls, ts)
  local e = ts .. ' ' .. cls .. ' ' .. string.gsub(mid, '\n', ' ')
  if not h or h == false or h == '' then return e end
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

local function escalate(p, brand, c, author, now, trig, info, alerts)
  local akey = p .. ':a:' .. author
  local e = redis.call('HMGET', akey, 'esc', 'eseq', 'elast', 'erules', 'en', 'h', 'rs', 'ereach')
  local rules = json_list(e[4])
  local open = e[1] and e[1] ~= '' and now - num(e[3], 0) <= c.esc_ttl
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
    redis.call('HSET', akey, 'elast', now)
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
  local id, seq, ev
  if open then
    id, seq, ev = e[1], num(e[2], 1) + 1, 'updated'
  else
    local n = num(e[5], 0) + 1
    id, seq, ev = 'esc:' .. brand .. ':' .. author .. ':' .. n, 1, 'opened'
    redis.call('HSET', akey, 'en', n)
  end
  redis.call('HSET', akey, 'esc', id, 'eseq', seq, 'elast', now, 'erules', cjson.encode(rules))
  redis.call('PEXPIRE', akey, c.author_ttl)
  local a = {
    type = 'escalation', event = ev, alert_id = id, seq = seq, brand = brand, author = author,
    score = score, score_parts = parts, reasons = rules, event_time_ms = now,
    trigger_case_id = info.case_id, trigger_mention_id = info.mid,
    story = {mentions = hist_decode(e[6]), responses = json_list(e[7])},
  }
  alerts[#alerts + 1] = {id .. '#' .. seq, 'escalations', cjson.encode(a)}
end

local function on_mention(p, brand, c, ev, alerts)
  -- {"m", cid, author, cls, ts, followers, reshares, due, mid, dup_of}
  -- Hot path: a fixed, small number of Redis calls per mention and no JSON
  -- (history and timestamps are kept as short delimited strings).
  local cid, author, cls, ts = ev[2], ev[3], ev[4], ev[5]
  local followers, reshares, due, mid, dup = num(ev[6], 0), num(ev[7], 0), num(ev[8], 0), ev[9], ev[10]
  if dup and dup ~= '' then
    local ckey = p .. ':case:' .. dup
    local cs = redis.call('HMGET', ckey, 'a', 'c', 'f', 'mid')
    if not cs[1] then return end
    local rsh = redis.call('HINCRBY', ckey, 'r', 1)
    local rf = redis.call('HINCRBY', ckey, 'rf', followers)
    if cs[2] == CLASS_ANGRY and num(cs[3], 0) >= c.inf_f and rsh >= c.amp_r then
      escalate(p, brand, c, cs[1], ts, {{rule = 'amplified', reshares = rsh, followers = num(cs[3], 0),
        reach = num(cs[3], 0) + rf, case_id = dup}}, {case_id = dup, mid = cs[4]}, alerts)
    end
    return
  end
  local akey = p .. ':a:' .. author
  if cls == CLASS_HAPPY then
    local a = redis.call('HMGET', akey, 'lr', 'cv', 'at')
    if a[1] and a[3] and a[2] ~= a[1] then
      redis.call('HINCRBY', p .. ':st', 'conversions', 1)
      redis.call('HSET', akey, 'cv', a[1])
    end
    return
  end
  if cls ~= CLASS_ANGRY and cls ~= CLASS_QUESTION then return end
  local ckey = p .. ':case:' .. cid
  redis.call('HSET', ckey, 'a', author, 'c', cls, 't', ts, 'f', followers, 'r', reshares, 'mid', mid)
  redis.call('PEXPIRE', ckey, c.case_ttl)
  if due > 0 then redis.call('ZADD', p .. ':due', due, cid) end
  local a = redis.call('HMGET', akey, 'h', 'at', 'lr', 'lres')
  local h = hist_push(a[1], mid, cls, ts)
  if cls ~= CLASS_ANGRY then
    redis.call('HSET', akey, 'h', h)
    redis.call('PEXPIRE', akey, c.author_ttl)
    return
  end
  -- angry timestamps within the repeat window, newest first, at most 20
  local kept, n = {tostring(ts)}, 1
  if a[2] then
    for t in string.gmatch(a[2], '%d+') do
      local tn = tonumber(t)
      if n < 20 and ts - tn <= c.rep_w and tn <= ts then n = n + 1; kept[n] = t end
    end
  end
  redis.call('HSET', akey, 'h', h, 'at', table.concat(kept, ' '))
  redis.call('PEXPIRE', akey, c.author_ttl)
  local trig = {}
  local lr = num(a[3], 0)
  if lr > 0 and ts > lr and ts - lr <= c.ret_w then
    trig[#trig + 1] = {rule = 'returned_after_response', resolved = a[4] == '1',
      since_response_s = math.floor((ts - lr) / 1000)}
  end
  if n >= c.rep_n then
    trig[#trig + 1] = {rule = 'repeated', count = n, window_s = c.rep_w / 1000}
  end
  if followers >= c.inf_f and reshares >= c.amp_r then
    trig[#trig + 1] = {rule = 'amplified', reshares = reshares, followers = followers,
      reach = followers, case_id = cid}
  end
  if #trig > 0 then escalate(p, brand, c, author, ts, trig, {case_id = cid, mid = mid}, alerts) end
end

local function on_response(p, brand, c, ev, now)
  -- {"r", cid, agent, ts, resolved}
  local cid, agent, ts, resolved = ev[2], ev[3], num(ev[4], 0), num(ev[5], 0)
  redis.call('HINCRBY', p .. ':st', 'responses', 1)
  local ckey = p .. ':case:' .. cid
  local cs = redis.call('HMGET', ckey, 'a', 'c', 't', 'fr')
  if not cs[1] then return end
  if not cs[4] then
    redis.call('HSET', ckey, 'fr', ts)
    local frt = math.max(0, ts - num(cs[3], ts))
    redis.call('LPUSH', p .. ':frt', frt)
    redis.call('LTRIM', p .. ':frt', 0, 999)
    redis.call('ZREM', p .. ':due', cid)
  end
  local akey = p .. ':a:' .. cs[1]
  redis.call('HSET', akey, 'lr', ts, 'lres', resolved)
  local rs = json_list(redis.call('HGET', akey, 'rs'))
  push_capped(rs, {case_id = cid, agent = agent, ts_ms = ts, resolved = resolved == 1}, 5)
  redis.call('HSET', akey, 'rs', cjson.encode(rs))
  redis.call('PEXPIRE', akey, c.author_ttl)
  if cs[2] == CLASS_ANGRY and c.fu_w > 0 then
    redis.call('ZADD', p .. ':fu', ts + c.fu_w, cid)
  end
end

local function sla_sweep(p, brand, c, now, alerts)
  local due = redis.call('ZRANGEBYSCORE', p .. ':due', '-inf', now + c.sla_risk, 'WITHSCORES', 'LIMIT', 0, 1000)
  for i = 1, #due, 2 do
    local cid, d = due[i], tonumber(due[i + 1])
    local ckey = p .. ':case:' .. cid
    local cs = redis.call('HMGET', ckey, 'a', 'c', 't', 'ar', 'mid')
    local ev
    if d <= now then
      ev = 'breached'
      redis.call('ZREM', p .. ':due', cid)
    elseif not cs[4] then
      ev = 'at_risk'
      redis.call('HSET', ckey, 'ar', 1)
    end
    if ev then
      local a = {type = 'sla', event = ev, alert_id = 'sla:' .. brand .. ':' .. cid, brand = brand,
        case_id = cid, mention_id = cs[5], class = cs[2], author = cs[1], due_ms = d,
        created_ms = num(cs[3], 0), event_time_ms = now}
      alerts[#alerts + 1] = {a.alert_id .. '#' .. ev, 'sla', cjson.encode(a)}
    end
  end
  local fu = redis.call('ZRANGEBYSCORE', p .. ':fu', '-inf', now, 'WITHSCORES', 'LIMIT', 0, 1000)
  for i = 1, #fu, 2 do
    local cid = fu[i]
    redis.call('ZREM', p .. ':fu', cid)
    local cs = redis.call('HMGET', p .. ':case:' .. cid, 'a', 'mid')
    local a = {type = 'sla', event = 'followup_due', alert_id = 'fu:' .. brand .. ':' .. cid, brand = brand,
      case_id = cid, mention_id = cs[2], author = cs[1], due_ms = tonumber(fu[i + 1]), event_time_ms = now}
    alerts[#alerts + 1] = {a.alert_id .. '#followup', 'sla', cjson.encode(a)}
  end
end

local function wc_apply(keys, args)
  local p = keys[1]
  local wall = tonumber(args[1])
  local c = cjson.decode(args[2])
  local pl = cjson.decode(args[3])
  local brand = args[4]
  local chunks = pl.ch or {}
  local applied = {}
  -- pass 1: idempotence check, nothing written yet
  for i, ch in ipairs(chunks) do
    local ap = num(redis.call('HGET', p .. ':applied', ch.p), -1)
    if ch.hi <= ap then
      applied[i] = false
    elseif ch.lo <= ap then
      return {'split', ch.p, tostring(ap)}
    else
      applied[i] = true
    end
  end
  local meta = redis.call('HMGET', p .. ':meta', 'first', 'wm', 'wall')
  local first, wm, wmwall = num(meta[1], nil), num(meta[2], 0), num(meta[3], wall)
  local alerts, touched, tl = {}, {}, {}
  for i, ch in ipairs(chunks) do
    if applied[i] then
      redis.call('HSET', p .. ':applied', ch.p, ch.hi)
      if ch.mn and ch.mn > 0 and (not first or ch.mn < first) then first = ch.mn end
      if ch.mx and ch.mx > wm then wm = ch.mx; wmwall = wall end
      local sc = ch.sc
      if sc then
        local names = {'happy', 'neutral', 'angry', 'question', 'duplicates'}
        for j, n in ipairs(names) do
          if sc[j] and sc[j] > 0 then redis.call('HINCRBY', p .. ':st', n, sc[j]) end
        end
      end
      for _, e in ipairs(ch.cl or {}) do
        -- {kind, topic, minute, count, example_id, phrase...}
        local kind, topic, minute, cnt = e[1], e[2], e[3], e[4]
        local key = p .. ':cl:' .. kind .. ':' .. topic
        redis.call('HINCRBY', key, 'm' .. minute, cnt)
        redis.call('HINCRBY', key, 'h' .. math.floor(minute / 60), cnt)
        redis.call('HINCRBY', key, 'tot', cnt)
        if e[5] and e[5] ~= '' then
          local xk = p .. ':clx:' .. kind .. ':' .. topic
          redis.call('LPUSH', xk, e[5])
          redis.call('LTRIM', xk, 0, 4)
        end
        for j = 6, #e do
          redis.call('HINCRBY', p .. ':clp:' .. kind .. ':' .. topic, e[j], cnt)
        end
        local tk = kind .. '|' .. topic
        if not touched[tk] then touched[tk] = true; tl[#tl + 1] = {kind, topic} end
      end
      for _, ev in ipairs(ch.ev or {}) do
        if ev[1] == 'm' then on_mention(p, brand, c, ev, alerts)
        elseif ev[1] == 'r' then on_response(p, brand, c, ev, wm) end
      end
    end
  end
  if not first then first = wm end
  redis.call('HSET', p .. ':meta', 'first', first, 'wm', wm, 'wall', wmwall)
  if wm > 0 then
    for _, m in ipairs(redis.call('SMEMBERS', p .. ':open')) do
      if not touched[m] then
        local sep = string.find(m, '|', 1, true)
        tl[#tl + 1] = {string.sub(m, 1, sep - 1), string.sub(m, sep + 1)}
      end
    end
    for _, t in ipairs(tl) do cluster_eval(p, brand, c, t[1], t[2], wm, first, alerts) end
    -- SLA clock: event time, advanced by wall time while the brand is idle
    sla_sweep(p, brand, c, wm + math.max(0, wall - wmwall), alerts)
  end
  local out = {'ok', #alerts}
  for _, a in ipairs(alerts) do
    redis.call('HSET', p .. ':outbox', a[1], a[3])
    out[#out + 1] = a[1]; out[#out + 1] = a[2]; out[#out + 1] = a[3]
  end
  return out
end

local function wc_ack(keys, args)
  if #args == 0 then return 0 end
  return redis.call('HDEL', keys[1] .. ':outbox', unpack(args))
end

local function wc_stats(keys, args)
  local p = keys[1]
  local wall, brand = tonumber(args[1]), args[2]
  local h = redis.call('HGETALL', p .. ':st')
  redis.call('DEL', p .. ':st')
  local st = {}
  for i = 1, #h, 2 do st[h[i]] = tonumber(h[i + 1]) end
  local frt = redis.call('LRANGE', p .. ':frt', 0, -1)
  local v = {}
  for i, x in ipairs(frt) do v[i] = tonumber(x) end
  table.sort(v)
  local function q(f)
    if #v == 0 then return cjson.null end
    return math.floor(v[math.max(1, math.ceil(f * #v))] / 1000 + 0.5)
  end
  local total = 0
  for _, n in ipairs({'happy', 'neutral', 'angry', 'question'}) do total = total + (st[n] or 0) end
  local ratio = {}
  for _, n in ipairs({'happy', 'neutral', 'angry', 'question'}) do
    ratio[n] = total > 0 and math.floor((st[n] or 0) * 1000 / total + 0.5) / 1000 or 0
  end
  local meta = redis.call('HMGET', p .. ':meta', 'wm')
  local out = {
    type = 'stats', brand = brand, wall_ms = wall, event_time_ms = num(meta[1], 0),
    mentions = total, classes = {happy = st.happy or 0, neutral = st.neutral or 0,
      angry = st.angry or 0, question = st.question or 0},
    class_ratio = ratio, duplicates = st.duplicates or 0, responses = st.responses or 0,
    conversions = st.conversions or 0,
    first_response_s = {median = q(0.5), p90 = q(0.9), samples = #v},
    clusters_open = redis.call('SCARD', p .. ':open'),
    sla_open = redis.call('ZCARD', p .. ':due'),
  }
  return cjson.encode(out)
end

redis.register_function('wc_apply', wc_apply)
redis.register_function('wc_ack', wc_ack)
redis.register_function('wc_stats', wc_stats)
