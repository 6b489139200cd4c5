# A small file exercising every definition and import form we extract.
require "json"
require 'net/http'
require_relative "lib/helper"
require_relative "../shared/util"
load "tasks/setup.rb"

MAX_RETRIES = 3

module Acme
  VERSION = "1.0"

  class Widget < Base
    attr_reader :name

    def initialize(name)
      @name = name
    end

    def self.build(attrs)
      new(attrs.fetch(:name))
    end

    def to_json(*args)
      JSON.generate({ name: @name }, *args)
    end

    class << self
      def registry
        @registry ||= {}
      end
    end
  end

  module Helpers
    def shout(text)
      text.upcase
    end
  end
end

def top_level(value)
  Acme::Widget.build(name: value)
end
