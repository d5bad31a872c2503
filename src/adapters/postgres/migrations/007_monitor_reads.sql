-- What the monitor reads every cycle, kept from scanning whole tables as they grow:
-- labels newer than its watermark, and the newest results (read at every Prometheus scrape).
CREATE INDEX ground_truth_received_at ON ground_truth (received_at);
CREATE INDEX monitor_results_newest ON monitor_results (window_end DESC);
