#!/usr/bin/env node
// kubectl plugin entry: `kubectl sockeye audit` runs `sockeye audit`.
import './sockeye.js';
